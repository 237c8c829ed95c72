package torture

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/batchhost/batchhost/internal/testbin"
)

var (
	kills = flag.Int("torture.kills", 20, "how many times TestTorture SIGKILLs the daemon")
	seed  = flag.Uint64("torture.seed", 0, "seed of TestTorture's random choices (0: a new one, logged)")
)

var (
	// batchhostBin is the real CLI, built once.
	batchhostBin string
	// pluginDir holds the real chaos and exec plugins, built once.
	pluginDir string
	// self is this test binary, which exec.run jobs run as their command
	// (see helperEnv).
	self string
)

// helperEnv, in a process's environment, makes this test binary a task's
// command: it waits that many milliseconds and exits 0. taskEnv marks
// those processes as the run's, to find any a daemon left behind.
const (
	helperEnv = "TORTURE_HELPER_MS"
	taskEnv   = "TORTURE_TASK"
)

func TestMain(m *testing.M) {
	if v := os.Getenv(helperEnv); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s=%q: %v\n", helperEnv, v, err)
			os.Exit(2)
		}
		time.Sleep(time.Duration(ms) * time.Millisecond) // the task's work
		os.Exit(0)
	}
	flag.Parse()
	tmp, err := os.MkdirTemp("", "bh-torture-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := func() int {
		defer os.RemoveAll(tmp)
		pluginDir, err = testbin.PluginDir(tmp, map[string]string{"chaos": testbin.Chaos, "exec": testbin.Exec})
		if err == nil {
			self, err = os.Executable()
		}
		if err == nil {
			batchhostBin, err = testbin.Build(filepath.Join(tmp, "bin"), "batchhost", "github.com/batchhost/batchhost/host/cmd/batchhost")
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		return m.Run()
	}()
	os.Exit(code)
}
