package exec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/batchhost/batchhost/proto/pluginrpc"
	"github.com/batchhost/batchhost/sdk"
)

// inheritedEnv are the variables of the plugin's environment a command
// gets; everything else (the host's BATCHHOST_* settings, go-plugin's
// handshake variables) stays out. LC_* variables are inherited too.
var inheritedEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR"}

// defaultPath is the command's PATH when the plugin has none.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// commandEnv returns the command's environment: the inherited minimum,
// then extra (which wins), sorted for a reproducible order.
func commandEnv(extra map[string]string) []string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "LC_") || slices.Contains(inheritedEnv, k) {
			env[k] = v
		}
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = defaultPath
	}
	for k, v := range extra {
		env[k] = v
	}
	// The host's mark of the plugin's processes (see pluginrpc), after the
	// job's variables: a job must not unmark its command.
	delete(env, pluginrpc.ContainerEnv)
	if v, ok := os.LookupEnv(pluginrpc.ContainerEnv); ok {
		env[pluginrpc.ContainerEnv] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// workDir checks the command's working directory, which Validate made
// sure is absolute ("" keeps the plugin's, which is the host's).
func workDir(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	abs := filepath.Clean(dir)
	info, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", sdk.InvalidArgs(fmt.Errorf("dir %s does not exist", abs))
	case err != nil:
		return "", sdk.InvalidArgs(fmt.Errorf("dir %s: %w", abs, unwrapPath(err)))
	case !info.IsDir():
		return "", sdk.InvalidArgs(fmt.Errorf("dir %s is not a directory", abs))
	}
	return abs, nil
}

// resolveCommand finds the executable argv0 names, as the command will
// run it: a name without a slash is looked up in the plugin's PATH (not
// in the job's env; that PATH is for the command's own children); a path
// is taken relative to dir (absolute). Not found or not executable is invalid_args.
func resolveCommand(argv0, dir string) (string, error) {
	if !strings.Contains(argv0, "/") {
		p, err := osexec.LookPath(argv0)
		if err != nil || !filepath.IsAbs(p) {
			return "", sdk.InvalidArgs(fmt.Errorf("command %q not found in PATH", argv0))
		}
		return p, nil
	}
	p := argv0
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p) // Validate refused a relative one without dir
	}
	info, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", sdk.InvalidArgs(fmt.Errorf("command %s does not exist", p))
	case err != nil:
		return "", sdk.InvalidArgs(fmt.Errorf("command %s: %w", p, unwrapPath(err)))
	case info.IsDir():
		return "", sdk.InvalidArgs(fmt.Errorf("command %s is a directory", p))
	case info.Mode().Perm()&0o111 == 0:
		return "", sdk.InvalidArgs(fmt.Errorf("command %s is not executable", p))
	}
	return filepath.Clean(p), nil
}

// unwrapPath drops an fs.PathError's path, which the caller names itself.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
