package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestStaleSocketDirsAreRemoved: the socket directory of a host killed
// with SIGKILL is removed by the next host that uses the same parent;
// those of live hosts, and those named by earlier versions (no owner
// recorded), are left alone.
func TestStaleSocketDirsAreRemoved(t *testing.T) {
	dir := pluginDir(t, map[string]string{"batchhost-plugin-chaos": chaosBin})
	cmd := startHelper(t, dir, "HELPER_UNUSED=1")
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var parent string
	for _, kv := range strings.Split(string(env), "\x00") {
		if v, ok := strings.CutPrefix(kv, "TMPDIR="); ok {
			parent = v
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	left, _ := filepath.Glob(filepath.Join(parent, socketDirPrefix+"*"))
	if len(left) != 1 {
		t.Fatalf("socket dirs of the killed host: %v, want 1", left)
	}
	// A live host's (the init process stands in for one) and an old one.
	live := filepath.Join(parent, fmt.Sprintf("%s1.%s.1", socketDirPrefix, strconv.FormatUint(startTime(1), 36)))
	old := filepath.Join(parent, socketDirPrefix+"123456789")
	for _, d := range []string{live, old} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	open(t, func(c *Config) { c.Dir = t.TempDir(); c.SocketDir = parent })
	if _, err := os.Stat(left[0]); !os.IsNotExist(err) {
		t.Errorf("the killed host's socket dir %s is still there (%v)", left[0], err)
	}
	for _, d := range []string{live, old} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}
