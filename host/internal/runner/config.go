package runner

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Config configures a Manager. Zero values mean the documented defaults.
type Config struct {
	// Dir is the plugin directory: executables named batchhost-plugin-*.
	Dir    string
	Logger hclog.Logger
	// StartTimeout bounds a launch: exec, handshake and Describe. Defaults
	// to 10s.
	StartTimeout time.Duration
	// IdleTimeout stops a warm process that has had no attempt for this
	// long. Defaults to 60s.
	IdleTimeout time.Duration
	// KillGrace is how long a cancelled attempt may take to return before
	// its process group is killed. Defaults to 5s.
	KillGrace time.Duration
	// HeartbeatInterval is asked of plugins. Defaults to 1s.
	HeartbeatInterval time.Duration
	// SocketDir is the parent of go-plugin's unix sockets; it must be short
	// (socket paths are limited to ~100 bytes). Defaults to os.TempDir().
	SocketDir string
	// MemoryLimit caps the memory a plugin process may add after start
	// (bytes, Linux, 0 means none); MemoryLimits overrides it per plugin.
	// It is enforced with RLIMIT_AS on the address space beyond the
	// process's size at its handshake (a Go program reserves address space
	// it never touches); there is no cgroup path.
	MemoryLimit  int64
	MemoryLimits map[string]int64
	// Env is added to every plugin process's environment.
	Env []string
	// InsecureDir loads plugins from a directory, or binaries, that users
	// other than this process's and root can write (see trust.go). By
	// default they are refused.
	InsecureDir bool

	// treeWalk makes tests use the process tree walk where cgroup v2
	// could be used.
	treeWalk bool
}

// Sentinel causes for Run.Cancel, and errors callers branch on.
var (
	// ErrCanceled: a user (or a group or dependency rule) canceled the
	// attempt; its outcome kind is canceled.
	ErrCanceled = errors.New("attempt canceled")
	// ErrInterrupted: the host is shutting down; outcome kind interrupted.
	ErrInterrupted = errors.New("attempt interrupted by host shutdown")
	// ErrUnknownTask: no loaded plugin offers the task.
	ErrUnknownTask = errors.New("unknown task")
	// ErrClosed: the manager is closed.
	ErrClosed = errors.New("plugin manager closed")
)

func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, fmt.Errorf("plugin dir is not set")
	}
	st, err := os.Stat(c.Dir)
	if err != nil {
		return c, fmt.Errorf("plugin dir %s: %w (set the plugin directory to where the batchhost-plugin-* binaries are)", c.Dir, err)
	}
	if !st.IsDir() {
		return c, fmt.Errorf("plugin dir %s is not a directory", c.Dir)
	}
	if !c.InsecureDir {
		if err := checkDirTrust(c.Dir); err != nil {
			return c, err
		}
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.StartTimeout, 10*time.Second)
	def(&c.IdleTimeout, 60*time.Second)
	def(&c.KillGrace, 5*time.Second)
	def(&c.HeartbeatInterval, time.Second)
	if c.SocketDir == "" {
		c.SocketDir = os.TempDir()
	}
	// go-plugin puts sockets two levels below SocketDir; a unix socket path
	// is limited to 108 bytes, and a longer one fails every launch with a
	// message that hides the cause.
	if len(c.SocketDir) > maxSocketDir {
		return c, fmt.Errorf("plugin socket dir %s is %d bytes long; unix socket paths must stay under 108 bytes: set TMPDIR (or the socket dir) to a shorter path", c.SocketDir, len(c.SocketDir))
	}
	return c, nil
}

// maxSocketDir leaves room for go-plugin's "plugin<random>/plugin<random>"
// below the directory.
const maxSocketDir = 60

func (c *Config) memoryLimit(plugin string) int64 {
	if v, ok := c.MemoryLimits[plugin]; ok {
		return v
	}
	return c.MemoryLimit
}
