// Package testbin builds the module's real binaries (plugins, the CLI) for
// tests, once per test binary, so that integration tests run the same
// executables users do instead of mocks.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// The main packages of the first-party plugins.
const (
	Chaos = "github.com/batchhost/batchhost/plugins/chaos/cmd/batchhost-plugin-chaos"
	Docs  = "github.com/batchhost/batchhost/plugins/docs/cmd/batchhost-plugin-docs"
	Exec  = "github.com/batchhost/batchhost/plugins/exec/cmd/batchhost-plugin-exec"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
)

// Build compiles the main package pkg into dir under the given file name and
// returns the executable's path. Repeated calls with the same arguments reuse
// the first build. Use it from TestMain; it returns an error rather than
// failing a test so that TestMain can print it and exit.
func Build(dir, name, pkg string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	out := filepath.Join(dir, name)
	if p, ok := built[out+"\x00"+pkg]; ok {
		return p, nil
	}
	cmd := exec.Command(goTool(), "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testbin: go build %s: %v\n%s", pkg, err, strings.TrimSpace(string(b)))
	}
	built[out+"\x00"+pkg] = out
	return out, nil
}

// BuildVersion is Build with the main package's string variable version
// set to v (-ldflags -X main.version=v): builds of one plugin that differ,
// to test what a host does when a plugin is rebuilt.
func BuildVersion(dir, name, pkg, v string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	out := filepath.Join(dir, name)
	cmd := exec.Command(goTool(), "build", "-ldflags=-X main.version="+v, "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testbin: go build %s (version %s): %v\n%s", pkg, v, err, strings.TrimSpace(string(b)))
	}
	return out, nil
}

// PluginDir makes a fresh directory under parent holding the given plugin
// packages, each built as batchhost-plugin-<name>, keyed by name.
func PluginDir(parent string, plugins map[string]string) (string, error) {
	dir, err := os.MkdirTemp(parent, "plugins-")
	if err != nil {
		return "", err
	}
	for name, pkg := range plugins {
		if _, err := Build(dir, "batchhost-plugin-"+name, pkg); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// goTool finds the go command of the toolchain running the tests, so that a
// test never builds with a different Go than it runs on.
func goTool() string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}

// FuzzWorker reports whether this test binary runs as a worker of `go
// test -fuzz`. The coordinator starts one a core (and again after a
// crash), and each runs TestMain before its inputs; a worker runs only
// the fuzz target, which needs none of the binaries a TestMain builds,
// so a TestMain skips building them: that took seconds a worker, most
// of a short fuzz run, before the first input.
func FuzzWorker() bool {
	return slices.Contains(os.Args[1:], "-test.fuzzworker")
}
