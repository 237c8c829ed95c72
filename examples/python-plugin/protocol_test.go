package pythonplugin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// The Python SDK's copy of the handshake and limits equals pluginrpc's.
func TestPythonConstantsMatchPluginrpc(t *testing.T) {
	sdk, err := filepath.Abs("../../sdk/python")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", `import json
from batchhost_sdk import _protocol as p
print(json.dumps({k: getattr(p, k) for k in dir(p) if k.isupper()}))`)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+sdk)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"CORE_PROTOCOL_VERSION": float64(plugin.CoreProtocolVersion),
		"PROTOCOL_VERSION":      float64(pluginrpc.ProtocolVersion1), // the Python SDK serves version 1
		"MAGIC_COOKIE_KEY":      pluginrpc.Handshake.MagicCookieKey,
		"MAGIC_COOKIE_VALUE":    pluginrpc.Handshake.MagicCookieValue,
		"LIFELINE_FD_ENV":       pluginrpc.LifelineFDEnv,
		"BINARY_PREFIX":         pluginrpc.BinaryPrefix,
		"MAX_MESSAGE_BYTES":     float64(pluginrpc.MaxMessageBytes),
		"UNIX_SOCKET_DIR_ENV":   plugin.EnvUnixSocketDir,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("batchhost_sdk._protocol.%s = %v, pluginrpc says %v", k, got[k], v)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for go-plugin's logging goroutines.
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

// newClient is a go-plugin client of the plugin at path, configured as the
// host's runner configures its clients; go-plugin's own log goes to logs
// (nil: discarded).
func newClient(t testing.TB, path string, logs io.Writer) (*plugin.Client, *exec.Cmd) {
	if logs == nil {
		logs = io.Discard
	}
	cmd := exec.Command(path)
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.VersionedPlugins(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: logs}),
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: t.TempDir()},
	})
	return c, cmd
}

// go-plugin itself sees a Python plugin as a well-behaved plugin: it
// handshakes, answers the health check and the stdio stream, serves
// Describe, and exits 0 on the controller's Shutdown without being killed.
func TestGoPluginClientSpeaksToPythonPlugin(t *testing.T) {
	var logs syncBuffer
	c, cmd := newClient(t, filepath.Join(pyDir, "batchhost-plugin-textstats"), &logs)
	defer c.Kill()
	rc, err := c.Client()
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if v := c.NegotiatedVersion(); v != pluginrpc.ProtocolVersion1 {
		t.Errorf("negotiated version %d", v)
	}
	if err := rc.Ping(); err != nil {
		t.Errorf("health check: %v", err)
	}
	raw, err := rc.Dispense(pluginrpc.PluginKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := raw.(pluginpb.TaskPluginClient).Describe(ctx, &pluginpb.DescribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if d.GetName() != "textstats" || d.GetVersion() != "1.0.0" || len(d.GetTasks()) != 1 ||
		!strings.HasPrefix(d.GetSdkVersion(), "batchhost_sdk ") || d.GetRunning() != 0 {
		t.Errorf("describe %v", d)
	}
	c.Kill()
	if ps := cmd.ProcessState; ps == nil || ps.ExitCode() != 0 {
		t.Errorf("plugin ended %v, want exit status 0 after Shutdown", ps)
	}
	for _, bad := range []string{"failed to exit gracefully", "stdio service not available", "[ERROR]"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("go-plugin logged %q:\n%s", bad, logs.String())
		}
	}
}

// Started by hand, or by a host that speaks another protocol version, or
// with a broken lifeline, a Python plugin says why in one line on stderr,
// writes nothing on stdout and exits 1.
func TestRefusesToRunWithoutAHost(t *testing.T) {
	cookie := pluginrpc.Handshake.MagicCookieKey + "=" + pluginrpc.Handshake.MagicCookieValue
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"by hand", nil, `this is the batchhost task plugin "textstats"; a batchhost host runs it`},
		{"wrong cookie", []string{pluginrpc.Handshake.MagicCookieKey + "=nope"}, "a batchhost host runs it"},
		{"protocol 2 only", []string{cookie, "PLUGIN_PROTOCOL_VERSIONS=2"}, "speaks plugin protocol versions 2; this plugin (batchhost_sdk) speaks 1"},
		{"stdout lifeline", []string{cookie, pluginrpc.LifelineFDEnv + "=1"}, "BATCHHOST_LIFELINE_FD='1' is not a usable file descriptor number"},
		{"closed lifeline", []string{cookie, pluginrpc.LifelineFDEnv + "=9"}, "BATCHHOST_LIFELINE_FD=9 is not an open file descriptor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(pyDir, "batchhost-plugin-textstats"))
			cmd.Env = append(withoutCookie(os.Environ()), tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Errorf("exit code %d (%v), want 1", code, err)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "batchhost-plugin-textstats: ") || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr %q, want one line naming %q", stderr.String(), tc.want)
			}
		})
	}
}

func withoutCookie(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, pluginrpc.Handshake.MagicCookieKey+"=") && !strings.HasPrefix(e, pluginrpc.LifelineFDEnv+"=") {
			out = append(out, e)
		}
	}
	return out
}
