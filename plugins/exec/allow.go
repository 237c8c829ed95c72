package exec

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/batchhost/batchhost/sdk"
)

// AllowEnv is the environment variable holding the command allowlist:
// commands separated by commas, each an absolute path or a base name. The
// host sets it for its plugins from its configuration. Unset, every
// command is allowed; set but empty, none is.
const AllowEnv = "BATCHHOST_EXEC_ALLOW"

// allowlist is AllowEnv parsed.
type allowlist struct {
	set   bool
	names map[string]bool // base names: match argv[0] given bare, found in PATH
	paths []string        // absolute paths: match the file the command is
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

// open opens the command's file once and checks that file, the one that
// will run (by its descriptor, see commandPath): a symlink or a rename
// swapped after the check cannot substitute another program. Refusals
// are permanent; a retry would be refused the same way.
//
// A base name permits the command only when argv[0] is that bare name
// (looked up in the plugin's PATH), so "sh" does not permit "/tmp/x/sh".
// An absolute path permits the file it names when the job runs, through
// symlinks ("/bin/sh" permits "/usr/bin/sh" where /bin links to /usr/bin).
// Either way the file must be owned by root or by the plugin's user and
// not writable by group or others: otherwise whoever can write it decides
// what an allowed command does.
func (a allowlist) open(argv0, resolved string) (*os.File, error) {
	f, err := openExecutable(resolved)
	if err != nil {
		return nil, sdk.InvalidArgs(fmt.Errorf("command %s: %w", resolved, unwrapPath(err)))
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("command %s: %w", resolved, unwrapPath(err))
	}
	if err := a.permits(argv0, resolved, info); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (a allowlist) permits(argv0, resolved string, info fs.FileInfo) error {
	allowed := !strings.Contains(argv0, "/") && a.names[argv0]
	for _, p := range a.paths {
		if allowed {
			break
		}
		if pinfo, err := os.Stat(p); err == nil && os.SameFile(pinfo, info) {
			allowed = true
		}
	}
	if !allowed {
		return sdk.Permanent(fmt.Errorf("command %q (%s) is not allowed: it is not listed in %s", argv0, resolved, AllowEnv))
	}
	if !info.Mode().IsRegular() {
		return sdk.InvalidArgs(fmt.Errorf("command %s is not a regular file", resolved))
	}
	if info.Mode().Perm()&0o022 != 0 {
		return sdk.Permanent(fmt.Errorf("command %s is not allowed: it is writable by group or others (mode %v); an allowed command must be writable by its owner only", resolved, info.Mode().Perm()))
	}
	if uid, ok := fileOwner(info); ok && uid != 0 && uid != os.Geteuid() {
		return sdk.Permanent(fmt.Errorf("command %s is not allowed: it is owned by uid %d; an allowed command must be owned by root or by the host's user", resolved, uid))
	}
	return nil
}
