package docs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/batchhost/batchhost/internal/testbin"
	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// docsBin is the real plugin binary, built once in TestMain.
var docsBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "docs-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	docsBin, err = testbin.Build(dir, "batchhost-plugin-docs", "github.com/batchhost/batchhost/plugins/docs/cmd/batchhost-plugin-docs")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// TestBinary drives the real binary through go-plugin, as the host does:
// it describes itself, and a PDF that makes the PDF reader panic fails
// only its own attempt; the process goes on serving.
func TestBinary(t *testing.T) {
	sockets, err := os.MkdirTemp("", "docs-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockets)
	cmd := exec.Command(docsBin)
	cmd.Env = append(os.Environ(), plugin.EnvUnixSocketDir+"="+sockets)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.VersionedPlugins(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		Stderr:           io.Discard,
		StartTimeout:     30 * time.Second,
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(pluginrpc.MaxMessageBytes), grpc.MaxCallSendMsgSize(pluginrpc.MaxMessageBytes))},
	})
	defer func() {
		client.Kill()
		if left := testbin.Descendants(os.Getpid()); len(left) > 0 {
			t.Errorf("processes left behind: %+v", left)
		}
	}()
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start the docs plugin: %v", err)
	}
	raw, err := rpc.Dispense(pluginrpc.PluginKey)
	if err != nil {
		t.Fatal(err)
	}
	tasks := raw.(pluginpb.TaskPluginClient)

	d, err := tasks.Describe(context.Background(), &pluginpb.DescribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ti := range d.GetTasks() {
		names = append(names, ti.GetName())
	}
	if d.GetName() != "docs" || d.GetVersion() != "1.0.0" || strings.Join(names, " ") != "inspect extract analyze categorize organize" {
		t.Errorf("Describe: %s %s %v", d.GetName(), d.GetVersion(), names)
	}

	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.pdf", bytes.Replace(makePDF(t, []string{"x"}), []byte("/Resources << /Font"), []byte("/Resources << 5Font"), 1))
	good := writeFile(t, dir, "good.pdf", makePDF(t, []string{"Hello from a real process"}))
	execute := func(task, path string) *pluginpb.Result {
		t.Helper()
		args, _ := json.Marshal(map[string]string{"path": path})
		stream, err := tasks.Execute(context.Background(), &pluginpb.ExecuteRequest{JobId: "j", Attempt: 1, MaxAttempts: 1, Task: task, Args: args})
		if err != nil {
			t.Fatal(err)
		}
		for {
			ev, err := stream.Recv()
			if err != nil {
				t.Fatalf("%s %s: the stream broke: %v", task, path, err)
			}
			if r := ev.GetResult(); r != nil {
				return r
			}
		}
	}
	if r := execute("extract", bad); r.GetError().GetKind() != pluginpb.ErrorKind_ERROR_KIND_UNSUPPORTED_FORMAT {
		t.Errorf("extract of a PDF the reader panics on: %v", r)
	}
	if r := execute("extract", good); !strings.Contains(string(r.GetOutput()), "Hello from a real process") {
		t.Errorf("extract after that: %v", r)
	}
}
