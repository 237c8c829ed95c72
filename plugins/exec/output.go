package exec

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/batchhost/batchhost/sdk"
)

// Limits on a command's output as the job sees it.
const (
	// maxLineBytes splits longer lines into pieces of this size, so that
	// one endless line cannot hold the whole output in memory.
	maxLineBytes = 64 << 10
	// maxLogLines bounds the lines logged per run: each is a record the
	// host stores with the job. Later lines still reach output_tail.
	maxLogLines = 10_000
	// tailLines is how many last lines output_tail and error messages keep,
	// each cut at tailLineBytes.
	tailLines     = 20
	tailLineBytes = 1000
)

// output collects a command's lines from both streams: each goes to the
// job log as it arrives (in order within a stream) and to the tail.
type output struct {
	job *sdk.Job

	mu     sync.Mutex
	logged int
	tail   []string // ring of the last tailLines lines
	next   int
	full   bool
}

func newOutput(job *sdk.Job) *output {
	return &output{job: job, tail: make([]string, tailLines)}
}

// pump reads r line by line until it ends (or fails) and records each
// line as coming from stream ("stdout" or "stderr").
func (o *output) pump(r io.Reader, stream string) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			o.line(stream, line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return // io.EOF, or the pipe closed under us
		}
	}
}

func (o *output) line(stream string, raw []byte) {
	s := strings.TrimSuffix(string(raw), "\n")
	s = strings.TrimSuffix(s, "\r")
	// Protocol strings must be UTF-8 and the queue stores no NUL (nor
	// would output_tail be a result it accepts); a command may write
	// anything.
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	o.mu.Lock()
	o.tail[o.next] = cut(s, tailLineBytes)
	o.next = (o.next + 1) % tailLines
	o.full = o.full || o.next == 0
	o.logged++
	n := o.logged
	o.mu.Unlock()
	switch {
	case n <= maxLogLines:
		o.job.Log().Info(s, "stream", stream)
	case n == maxLogLines+1:
		o.job.Log().Warn("the command wrote more than 10000 lines; the rest are not logged (output_tail has the last ones)")
	}
}

// lastLines returns the tail, oldest first, a line each.
func (o *output) lastLines() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var lines []string
	if o.full {
		lines = append(lines, o.tail[o.next:]...)
	}
	lines = append(lines, o.tail[:o.next]...)
	return strings.Join(lines, "\n")
}

// cut shortens s to at most n bytes on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
