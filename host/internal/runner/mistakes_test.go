package runner

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/batchhost/batchhost/host/internal/errkind"
)

// syncBuffer is a log output safe for go-plugin's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPluginDirMistakes: an empty plugin dir, a plugin whose name is not
// its file's, a program that is not a plugin and one that never
// handshakes each give one short problem naming the file and the fix, and
// the runner's log (at the daemon's default level) repeats none of them
// nor go-plugin's own chatter about the processes it was told to kill.
func TestPluginDirMistakes(t *testing.T) {
	var logs syncBuffer
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: &logs})

	empty := t.TempDir()
	m := open(t, func(c *Config) { c.Dir = empty; c.Logger = logger })
	probs := m.Problems()
	if len(probs) != 1 || !strings.Contains(probs[0].Error(), empty) || !strings.Contains(probs[0].Error(), "--plugin-dir") {
		t.Fatalf("empty dir: problems %v, want one naming it and --plugin-dir", probs)
	}

	dir := pluginDir(t, map[string]string{"batchhost-plugin-thumbnails": chaosBin, "batchhost-plugin-bogus": bogusBin})
	script(t, dir, "batchhost-plugin-hang", "exec sleep 300\n")
	m = open(t, func(c *Config) { c.Dir = dir; c.Logger = logger; c.StartTimeout = time.Second })
	want := map[string][]string{
		"batchhost-plugin-thumbnails": {`calls itself "chaos"`, "rename the file batchhost-plugin-chaos"},
		"batchhost-plugin-bogus":      {"not a batchhost plugin", `"hello, I am not a batchhost plugin"`, "remove it"},
		"batchhost-plugin-hang":       {"no handshake within 1s", "the host killed it", "remove it"},
	}
	probs = m.Problems()
	if len(probs) != len(want) {
		t.Fatalf("problems %v, want one for each of %v", probs, want)
	}
	for _, p := range probs {
		msg := p.Error()
		if strings.Contains(msg, "\n") || len(msg) > 300 {
			t.Errorf("problem of %d characters (or lines): %q", len(msg), msg)
		}
		found := false
		for name, parts := range want {
			if strings.Contains(msg, "/"+name+" ") || strings.Contains(msg, "/"+name+":") {
				found = true
				for _, part := range parts {
					if !strings.Contains(msg, part) {
						t.Errorf("problem %q lacks %q", msg, part)
					}
				}
			}
		}
		if !found {
			t.Errorf("unexpected problem %q", msg)
		}
	}
	if !m.HasTask("chaos.noop") {
		t.Fatal("the misnamed plugin must still load, under its own name")
	}
	out := logs.String()
	for _, noise := range []string{"not a batchhost plugin", "Unrecognized remote plugin message", "failed to exit gracefully", "plugin process exited", "no handshake"} {
		if strings.Contains(out, noise) {
			t.Errorf("the log repeats %q:\n%s", noise, out)
		}
	}
}

// TestBadHandshakeDuringAnAttemptSaysWhy: a plugin replaced by something
// that is not a plugin fails the attempt that launches it with a message
// that says so and that the host killed it, not as a process that exited
// by itself ("signal: killed").
func TestBadHandshakeDuringAnAttemptSaysWhy(t *testing.T) {
	dir := pluginDir(t, map[string]string{"batchhost-plugin-fresh": freshBin})
	m := open(t, func(c *Config) { c.Dir = dir })
	path := dir + "/batchhost-plugin-fresh"
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	script(t, dir, "batchhost-plugin-fresh", "echo garbage\nexec sleep 300\n")
	out, _ := attempt(t, m, Attempt{Task: "fresh.pid"})
	e := out.Err
	if e == nil || e.Kind != errkind.PluginCrashed || !strings.Contains(e.Message, `printed "garbage" where the handshake was expected; the host killed it`) ||
		strings.Contains(e.Error(), "signal: killed") || len(e.Message) > 300 {
		t.Fatalf("attempt error %+v", e)
	}
}
