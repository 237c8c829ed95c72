package runner

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyFile copies src to dst with mode (a link would share src's mode and
// owner with every other test).
func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

// TestPluginDirOthersCanWriteIsRefused: as ssh's StrictModes, a plugin
// directory or binary that a user other than the daemon's and root can
// write is refused, in one line naming it and the fix, unless InsecureDir
// says otherwise.
func TestPluginDirOthersCanWriteIsRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o775, 0o1777} {
		t.Run(fmt.Sprintf("dir %o", mode), func(t *testing.T) {
			dir := pluginDir(t, map[string]string{"batchhost-plugin-chaos": chaosBin})
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			m, err := Open(Config{Dir: dir})
			if err == nil {
				m.Close()
				t.Fatal("a plugin dir others can write was accepted")
			}
			for _, want := range []string{dir, "writable by", "chmod go-w " + dir, "--plugin-dir-insecure"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			m = open(t, func(c *Config) { c.Dir = dir; c.InsecureDir = true })
			if !m.HasTask("chaos.noop") {
				t.Fatal("InsecureDir did not load the plugin")
			}
		})
	}

	dir := pluginDir(t, map[string]string{"batchhost-plugin-chaos": chaosBin})
	copyFile(t, freshBin, filepath.Join(dir, "batchhost-plugin-fresh"), 0o757)
	open2 := t.TempDir()
	if err := os.Chmod(open2, 0o777); err != nil {
		t.Fatal(err)
	}
	copyFile(t, bogusBin, filepath.Join(open2, "linked"), 0o755)
	if err := os.Symlink(filepath.Join(open2, "linked"), filepath.Join(dir, "batchhost-plugin-linked")); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"batchhost-plugin-fresh":  "writable by every user",
		"batchhost-plugin-linked": "links into " + open2,
	}
	if os.Geteuid() == 0 {
		other := filepath.Join(dir, "batchhost-plugin-other")
		copyFile(t, bogusBin, other, 0o755)
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		want["batchhost-plugin-other"] = "owned by uid 65534"
	}
	m := open(t, func(c *Config) { c.Dir = dir })
	probs := m.Problems()
	if len(probs) != len(want) {
		t.Fatalf("problems %v, want one for each of %v", probs, want)
	}
	for _, p := range probs {
		msg := p.Error()
		found := false
		for name, why := range want {
			if strings.Contains(msg, name) {
				found = true
				if !strings.Contains(msg, why) || !strings.Contains(msg, "--plugin-dir-insecure") || strings.Contains(msg, "\n") {
					t.Errorf("problem %q: want one line with %q and the fix", msg, why)
				}
			}
		}
		if !found {
			t.Errorf("unexpected problem %q", msg)
		}
	}
	if !m.HasTask("chaos.noop") || m.HasTask("fresh.pid") {
		t.Fatalf("tasks %v: want chaos's only", m.Tasks())
	}
}
