package docs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/internal/testbin"
	"github.com/batchhost/batchhost/proto/pluginpb"
)

// docsBin is the real plugin binary, built once in TestMain.
var docsBin string

func TestMain(m *testing.M) {
	if testbin.FuzzWorker() {
		os.Exit(m.Run())
	}
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
	p := testbin.StartPlugin(t, exec.Command(docsBin))
	d, err := p.Tasks.Describe(context.Background(), &pluginpb.DescribeRequest{})
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
		events, err := p.Execute(context.Background(), &pluginpb.ExecuteRequest{JobId: "j", Attempt: 1, MaxAttempts: 1, Task: task, Args: args})
		if err != nil {
			t.Fatalf("%s %s: the attempt channel broke: %v", task, path, err)
		}
		return events[len(events)-1].GetResult()
	}
	if r := execute("extract", bad); r.GetError().GetKind() != pluginpb.ErrorKind_ERROR_KIND_UNSUPPORTED_FORMAT {
		t.Errorf("extract of a PDF the reader panics on: %v", r)
	}
	if r := execute("extract", good); !strings.Contains(string(r.GetOutput()), "Hello from a real process") {
		t.Errorf("extract after that: %v", r)
	}
}
