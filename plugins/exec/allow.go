package exec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/batchhost/batchhost/sdk"
)

// AllowEnv is the environment variable holding the allowlist: commands
// separated by commas, each an absolute path or a base name. The host sets
// it for its plugins from its configuration. Unset, every command is
// allowed; set but empty, none is.
const AllowEnv = "BATCHHOST_EXEC_ALLOW"

// allowlist is AllowEnv parsed.
type allowlist struct {
	set   bool
	names map[string]bool // base names: match argv[0] given bare, found in PATH
	paths []string        // absolute paths: match the resolved command
}

// loadAllowlist reads AllowEnv now, so a changed environment (in tests)
// takes effect at the next run. Entries that are neither a base name nor
// an absolute path never match.
func loadAllowlist() allowlist {
	v, ok := os.LookupEnv(AllowEnv)
	if !ok {
		return allowlist{}
	}
	a := allowlist{set: true, names: map[string]bool{}}
	for _, e := range strings.Split(v, ",") {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
		case !strings.Contains(e, "/"):
			a.names[e] = true
		case filepath.IsAbs(e):
			a.paths = append(a.paths, filepath.Clean(e))
		}
	}
	return a
}

// check refuses a command the allowlist does not permit, permanently: a
// retry would be refused the same way. A base name permits the command
// only when argv[0] is that bare name (looked up in the plugin's PATH), so
// "sh" does not permit "/tmp/x/sh". An absolute path permits the file it
// names, through symlinks ("/bin/sh" permits "/usr/bin/sh" where /bin
// links to /usr/bin).
func (a allowlist) check(argv0, resolved string) error {
	if !a.set {
		return nil
	}
	if !strings.Contains(argv0, "/") && a.names[argv0] {
		return nil
	}
	rinfo, rerr := os.Stat(resolved)
	for _, p := range a.paths {
		if p == resolved {
			return nil
		}
		if info, err := os.Stat(p); err == nil && rerr == nil && os.SameFile(info, rinfo) {
			return nil
		}
	}
	return sdk.Permanent(fmt.Errorf("command %q (%s) is not allowed: it is not listed in %s", argv0, resolved, AllowEnv))
}
