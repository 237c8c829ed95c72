package runner

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
)

// Containment: every process a plugin starts — in its own process group,
// in a new session, double-forked — is found again and killed when the
// attempt that started it ends, and when the plugin process goes. Two
// mechanisms, chosen once per Manager at Open:
//
//   - cgroup v2, where this process may create a cgroup below its own: each
//     plugin process is started inside a cgroup of its own (clone3 with
//     CLONE_INTO_CGROUP, so that not even its first instruction runs
//     outside), which no descendant can leave. cgroup.kill ends them all.
//     The cgroups of a host killed with SIGKILL are killed at the next
//     start.
//   - otherwise, a walk of the process tree below the plugin process
//     (/proc). It finds every descendant whose parent chain is intact,
//     whatever its group or session, but not a double-forked process whose
//     parent has exited (it is the init process's child then).
//
// Which is used is logged once at Open.

// container holds the processes of one plugin process.
type container interface {
	// prepare sets up cmd, not yet started, to start inside the
	// container.
	prepare(cmd *exec.Cmd) error
	// started is called with the plugin's pid after its handshake.
	started(pid int)
	// pids lists the live processes in the container, the plugin's
	// included.
	pids() []int
	// killBelow kills every process in the container but the plugin's:
	// those an attempt started end with it. False if some could not be
	// (a fork storm): the caller kills the whole container then.
	killBelow() bool
	// killAll kills every process in the container, the plugin included.
	killAll()
	// remove releases the container once its processes are gone.
	remove()
}

// containment makes the containers of one Manager.
type containment interface {
	// describe is the start-up log line's words.
	describe() string
	// cleanStale kills what hosts killed with SIGKILL left running, and
	// returns how many processes that was.
	cleanStale() int
	newContainer() (container, error)
	close()
}

// openContainment picks cgroup v2 when this process can use it, else the
// process tree walk, and says why in the returned note.
func openContainment(cfg *Config) (containment, string) {
	if cfg.treeWalk {
		return treeWalk{}, "not tried (a test asked for the tree walk)"
	}
	cg, err := openCgroups()
	if err == nil {
		return cg, ""
	}
	return treeWalk{}, err.Error()
}

// hostID names this process for the containers it owns: its pid and start
// time, so that a later host can tell a container whose owner is gone even
// if the pid was reused.
var hostID = sync.OnceValue(func() string {
	return fmt.Sprintf("%d.%d", os.Getpid(), startTime(os.Getpid()))
})

// containerSeq numbers the containers of this process.
var containerSeq atomic.Uint64

// ownerAlive reports whether the process named by an id made by hostID
// ("pid.starttime") is still running.
func ownerAlive(id string) bool {
	var pid int
	var st uint64
	if _, err := fmt.Sscanf(id, "%d.%d", &pid, &st); err != nil || pid <= 0 {
		return true // not ours to judge
	}
	return processAlive(pid, st)
}

// processAlive reports whether process pid, started at st, is running:
// a pid reused by a later process does not count.
func processAlive(pid int, st uint64) bool {
	if pid == os.Getpid() {
		return true
	}
	got := startTime(pid)
	return got != 0 && got == st
}

// startTime reads a process's start time (clock ticks after boot) from
// /proc; 0 if it is gone.
func startTime(pid int) uint64 {
	st, ok := readStat(pid)
	if !ok {
		return 0
	}
	return st.start
}
