package runner

import (
	"strings"
	"sync"
)

// stderrLines is how much of a plugin's stderr is kept for crash reports:
// enough for a Go panic's first goroutine trace.
const stderrLines = 50

// tail keeps the last n lines written to it, and the first line that
// starts a Go crash report ("panic: ...", "fatal error: ..."), which a long
// goroutine dump would otherwise push out. go-plugin writes one line per
// Write call.
type tail struct {
	mu     sync.Mutex
	lines  []string
	n      int
	next   int
	full   bool
	part   strings.Builder
	marker string
}

func newTail(n int) *tail { return &tail{lines: make([]string, n), n: n} }

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range string(b) {
		if c == '\n' {
			t.push(t.part.String())
			t.part.Reset()
			continue
		}
		if t.part.Len() < 4096 {
			t.part.WriteRune(c)
		}
	}
	return len(b), nil
}

func (t *tail) push(line string) {
	if t.marker == "" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")) {
		t.marker = line
	}
	t.lines[t.next] = line
	t.next = (t.next + 1) % t.n
	if t.next == 0 {
		t.full = true
	}
}

// Marker returns the first crash-report line seen, or "".
func (t *tail) Marker() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.marker
}

// String returns the kept lines, oldest first.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	if t.full {
		out = append(out, t.lines[t.next:]...)
	}
	out = append(out, t.lines[:t.next]...)
	if t.part.Len() > 0 {
		out = append(out, t.part.String())
	}
	return strings.Join(out, "\n")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
