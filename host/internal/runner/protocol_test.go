package runner

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/batchhost/batchhost/internal/testbin"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// TestProtocolVersions: the host offers both versions; each plugin gets
// the one its SDK speaks.
func TestProtocolVersions(t *testing.T) {
	protocols(t, func(t *testing.T, chaos string) {
		want := map[string]int{chaosBin: pluginrpc.ProtocolVersion2, chaosV1Bin: pluginrpc.ProtocolVersion1}[chaos]
		m := open(t, withChaos(t, chaos, nil))
		if out, _ := attempt(t, m, Attempt{Task: "chaos.echo", Args: []byte(`[1]`)}); out.Err != nil || string(out.Output) != `[1]` {
			t.Fatalf("echo %s %v", out.Output, out.Err)
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		for p := range m.procs {
			if p.version != want {
				t.Errorf("protocol version %d, want %d", p.version, want)
			}
		}
	})
}

// TestThisPluginOnAProtocol1Host: the host of the last protocol version 1
// commit, a real batchhost daemon built from it, refuses a plugin built
// with this SDK and says why in the warning it logs at start.
func TestThisPluginOnAProtocol1Host(t *testing.T) {
	tmp := t.TempDir()
	oldCLI, err := testbin.BuildAtCommit(tmp, "batchhost-v1", "./host/cmd/batchhost", testbin.Protocol1Commit)
	if err != nil {
		t.Fatal(err)
	}
	sockets, err := os.MkdirTemp("", "bh")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockets)
	dir := pluginDir(t, map[string]string{"batchhost-plugin-chaos": chaosBin})
	cmd := exec.Command(oldCLI, "--data-dir", filepath.Join(tmp, "data"), "--socket", filepath.Join(sockets, "s"), "serve", "--plugin-dir", dir)
	cmd.Env = append(os.Environ(), "TMPDIR="+sockets)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log []string
	lines := bufio.NewScanner(stderr)
	for lines.Scan() && !strings.Contains(lines.Text(), "serving") {
		log = append(log, lines.Text())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	go func() {
		for lines.Scan() {
		}
	}()
	cmd.Wait()
	all := strings.Join(log, "\n")
	if !strings.Contains(all, "batchhost-plugin-chaos") || !strings.Contains(all, "incompatible API version with plugin. Plugin version: 2, Client versions: [1]") {
		t.Fatalf("the version 1 host's log does not say why the plugin is refused:\n%s", all)
	}
	t.Logf("the version 1 host says:\n%s", all)
}

// TestTraceContextOnEveryProtocol: an attempt that carries a trace context
// runs on a plugin whose SDK predates the fields (protocol version 1),
// which skips them, as on a current one.
func TestTraceContextOnEveryProtocol(t *testing.T) {
	protocols(t, func(t *testing.T, chaos string) {
		m := open(t, withChaos(t, chaos, nil))
		out, _ := attempt(t, m, Attempt{Task: "chaos.echo", Args: []byte(`[1]`),
			TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceState: "vendor=a"})
		if out.Err != nil || string(out.Output) != `[1]` {
			t.Fatalf("echo with a trace context: %s %v", out.Output, out.Err)
		}
	})
}
