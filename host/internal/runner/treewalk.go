package runner

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// treeWalk is the containment where cgroup v2 cannot be used. A plugin
// process's container is its process tree, read from /proc, and every
// process carrying its mark: the variable pluginrpc.ContainerEnv, set in
// the plugin's environment and inherited by what it starts, which finds
// double-forked processes that left the tree (they are the init process's
// children then). A process that clears its environment and leaves the
// tree is not found. The whole of /proc is read at the end of every
// attempt.
type treeWalk struct{}

func (treeWalk) describe() string { return "process tree walk and environment mark" }

func (treeWalk) newContainer() (container, error) {
	return &tree{mark: fmt.Sprintf("%s=%s.%d", pluginrpc.ContainerEnv, hostID(), containerSeq.Add(1))}, nil
}

func (treeWalk) close() {}

func (treeWalk) cleanStale() int { return cleanStaleMarked() }

// tree is the processes of one plugin process.
type tree struct {
	mark string // "BATCHHOST_CONTAINER=<pid>.<starttime>.<n>"
	pid  atomic.Int64
}

func (t *tree) prepare(cmd *exec.Cmd) error {
	cmd.Env = append(cmd.Env, t.mark)
	return nil
}

func (t *tree) started(pid int) { t.pid.Store(int64(pid)) }

// pids lists the plugin, its descendants and the marked processes.
func (t *tree) pids() []int {
	pid := int(t.pid.Load())
	if pid <= 0 {
		return nil
	}
	out := append([]int{pid}, descendants(pid)...)
	mark := []byte(t.mark)
	for _, q := range marked(func(kv []byte) bool { return bytes.Equal(kv, mark) }) {
		if !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out
}

// killBelow stops every process of the container but the plugin, looking
// again until a look finds no new one (a stopped process cannot fork, and
// killing one at once would let its children leave the tree unseen), then
// kills them all.
func (t *tree) killBelow() bool {
	pid := int(t.pid.Load())
	if pid <= 0 {
		return true
	}
	var stopped []int
	for range 50 {
		grew := false
		for _, q := range t.pids() {
			if q != pid && !slices.Contains(stopped, q) {
				syscall.Kill(q, syscall.SIGSTOP)
				stopped = append(stopped, q)
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	killAndWait(stopped, killWatchdog)
	return true
}

func (t *tree) killAll() {
	t.killBelow()
	if pid := int(t.pid.Load()); pid > 0 {
		syscall.Kill(-pid, syscall.SIGKILL)
	}
}

func (*tree) remove() {}

// marked lists the live processes (of this user: others' environments
// cannot be read) with an environment entry that match accepts.
func marked(match func(kv []byte) bool) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	self := os.Getpid()
	key := []byte(pluginrpc.ContainerEnv + "=")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(env, key) {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if match(kv) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// cleanStaleMarked kills the marked processes of hosts that are gone
// (killed with SIGKILL: nothing of theirs killed them) and returns how
// many there were.
func cleanStaleMarked() int {
	prefix := []byte(pluginrpc.ContainerEnv + "=")
	stale := marked(func(kv []byte) bool {
		v, ok := bytes.CutPrefix(kv, prefix)
		if !ok {
			return false
		}
		// "<pid>.<starttime>.<n>": the owner is the first two.
		parts := strings.Split(string(v), ".")
		return len(parts) == 3 && !ownerAlive(parts[0]+"."+parts[1])
	})
	killAndWait(stale, killWatchdog)
	return len(stale)
}
