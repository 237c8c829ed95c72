package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// The plugin directory and its binaries are trusted as ssh's StrictModes
// trusts a user's keys: each must be owned by this process's user or by
// root and writable by no one else. Whoever can write a plugin binary, or
// the directory (and so replace a binary), runs code as the daemon's user
// at the next launch. Config.InsecureDir turns the check off.

// insecureHint is the way out each refusal names.
const insecureHint = "or, to load it anyway, start with --plugin-dir-insecure (Config.PluginDirInsecure)"

// checkDirTrust refuses a plugin directory someone else could write.
func checkDirTrust(dir string) error {
	if why, fix := writableByOthers(dir); why != "" {
		return fmt.Errorf("plugin dir %s is %s: they could replace a plugin and run code as this daemon's user; fix: %s, %s", dir, why, fix, insecureHint)
	}
	return nil
}

// checkPluginTrust refuses a plugin binary someone else could write, or
// one that is a link into a directory someone else could write.
func checkPluginTrust(path string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", path, err)
	}
	if why, fix := writableByOthers(real); why != "" {
		return fmt.Errorf("plugin %s is %s: they could replace it and run code as this daemon's user; fix: %s, %s", path, why, fix, insecureHint)
	}
	if d := filepath.Dir(real); real != path {
		if why, fix := writableByOthers(d); why != "" {
			return fmt.Errorf("plugin %s links into %s, which is %s; fix: %s, %s", path, d, why, fix, insecureHint)
		}
	}
	return nil
}

// writableByOthers says who other than this process's user and root can
// write path ("owned by uid 1001, ...", "writable by every user (mode
// drwxrwxrwx)") and the command that fixes it, or "" if no one.
func writableByOthers(path string) (why, fix string) {
	st, err := os.Stat(path)
	if err != nil {
		return "", ""
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		if uid := int(s.Uid); uid != 0 && uid != os.Geteuid() {
			return fmt.Sprintf("owned by uid %d, not by this daemon's user (uid %d) or root", uid, os.Geteuid()),
				fmt.Sprintf("chown %d %s", os.Geteuid(), path)
		}
	}
	switch m := st.Mode(); {
	case m&0o002 != 0:
		return fmt.Sprintf("writable by every user (mode %s)", m), "chmod go-w " + path
	case m&0o020 != 0:
		return fmt.Sprintf("writable by its group (mode %s)", m), "chmod go-w " + path
	}
	return "", ""
}
