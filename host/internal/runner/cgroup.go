package runner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupPrefix starts the name of every cgroup a host makes below its own:
// "batchhost.<pid>.<starttime>.<n>", one per Manager, holding one cgroup
// per plugin process ("p<n>").
const cgroupPrefix = "batchhost."

// cgroups is the cgroup v2 containment of one Manager.
type cgroups struct {
	dir string // this Manager's cgroup
}

// openCgroups makes this Manager's cgroup below the one this process is
// in, or says why it cannot: no cgroup v2 hierarchy, no write access, no
// cgroup.kill (Linux 5.14), no clone3 into a cgroup (Linux 5.7).
func openCgroups() (*cgroups, error) {
	base, err := ownCgroup()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(base, fmt.Sprintf("%s%s.%d", cgroupPrefix, hostID(), containerSeq.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create a cgroup in %s: %v", base, err)
	}
	cg := &cgroups{dir: dir}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err != nil {
		cg.close()
		return nil, fmt.Errorf("cgroup v2 has no cgroup.kill here (Linux 5.14 or later needed)")
	}
	if err := cg.probe(); err != nil {
		cg.close()
		return nil, err
	}
	return cg, nil
}

// probe checks that a process can be started straight into a cgroup:
// starting a file that does not exist fails at exec, after the clone3
// that placed the child, where a kernel without CLONE_INTO_CGROUP fails
// the clone itself.
func (cg *cgroups) probe() error {
	c, err := cg.newContainer()
	if err != nil {
		return err
	}
	defer c.remove()
	cmd := exec.Command(filepath.Join(cg.dir, "no-such-file"))
	if err := c.prepare(cmd); err != nil {
		return err
	}
	err = cmd.Start()
	if err == nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil
	}
	if errors.Is(err, syscall.ENOENT) {
		return nil
	}
	return fmt.Errorf("cannot start a process into a cgroup (clone3, Linux 5.7 or later needed): %v", err)
}

// cleanStale kills what hosts killed with SIGKILL left in their cgroups
// beside this one, and removes those cgroups.
func (cg *cgroups) cleanStale() int { return cleanStaleCgroups(filepath.Dir(cg.dir)) }

func (cg *cgroups) describe() string { return "cgroup v2 (" + cg.dir + ")" }

func (cg *cgroups) newContainer() (container, error) {
	dir := filepath.Join(cg.dir, "p"+strconv.FormatUint(containerSeq.Add(1), 10))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plugin cgroup: %w", err)
	}
	return &cgroup{dir: dir}, nil
}

// close removes the Manager's cgroup, empty once every container was
// removed.
func (cg *cgroups) close() {
	killCgroup(cg.dir)
	removeCgroupTree(cg.dir)
}

// cgroup is the container of one plugin process.
type cgroup struct {
	dir string
	fd  *os.File // open from prepare until the process has started
	pid int      // the plugin's, set before any attempt

	mu    sync.Mutex
	procs *os.File // cgroup.procs, open from the first read until remove
	buf   []byte
}

func (c *cgroup) prepare(cmd *exec.Cmd) error {
	fd, err := os.Open(c.dir)
	if err != nil {
		return fmt.Errorf("plugin cgroup: %w", err)
	}
	c.fd = fd
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = int(fd.Fd())
	return nil
}

func (c *cgroup) started(pid int) {
	c.pid = pid
	c.closeFD()
}

func (c *cgroup) closeFD() {
	if c.fd != nil {
		c.fd.Close()
		c.fd = nil
	}
}

// pids reads the plugin's own cgroup, not cgroups a plugin may have made
// below it (cgroup.kill reaches those too): one read per attempt. The
// file stays open and is read again from its start each time (the kernel
// makes its content afresh at every read from offset 0): an open, a read
// and a close per attempt cost a noop job a tenth of the host's CPU.
func (c *cgroup) pids() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.procs == nil {
		f, err := os.Open(filepath.Join(c.dir, "cgroup.procs"))
		if err != nil {
			return readPids(c.dir)
		}
		c.procs, c.buf = f, make([]byte, 512)
	}
	for {
		n, err := c.procs.ReadAt(c.buf, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return readPids(c.dir)
		}
		if n == len(c.buf) {
			c.buf = make([]byte, 2*len(c.buf)) // it may hold more: read it whole
			continue
		}
		return parsePids(c.buf[:n])
	}
}

func (c *cgroup) closeProcs() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.procs != nil {
		c.procs.Close()
		c.procs = nil
	}
}

// killBelow kills every process but the plugin's, in rounds: a round kills
// what the cgroup holds and waits for it to exit; one forked meanwhile is
// found by the next round. None can leave the cgroup.
func (c *cgroup) killBelow() bool {
	for range 50 {
		var others []int
		for _, q := range c.pids() {
			if q != c.pid {
				others = append(others, q)
			}
		}
		if len(others) == 0 {
			return true
		}
		killAndWait(others, killWatchdog)
	}
	return false
}

func (c *cgroup) killAll() { killCgroup(c.dir) }

// remove kills what is left and removes the cgroup once it is empty (a
// killed process leaves it as it exits, not at once).
func (c *cgroup) remove() {
	c.closeFD()
	c.closeProcs()
	killCgroup(c.dir)
	removeCgroupTree(c.dir)
}

// ownCgroup finds the cgroup v2 directory this process is in.
func ownCgroup() (string, error) {
	mount, err := cgroup2Mount()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("no cgroup information: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join(mount, rest), nil
		}
	}
	return "", errors.New("this process is in no cgroup v2")
}

// cgroup2Mount finds where the cgroup v2 hierarchy is mounted:
// /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems.
func cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("no mount information: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source
		left, right, ok := strings.Cut(sc.Text(), " - ")
		if !ok || !strings.HasPrefix(right, "cgroup2 ") {
			continue
		}
		if f := strings.Fields(left); len(f) >= 5 {
			return f[4], nil
		}
	}
	return "", errors.New("no cgroup v2 hierarchy is mounted")
}

// readPids lists the processes in one cgroup.
func readPids(dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	return parsePids(b)
}

// parsePids reads a cgroup.procs content: one pid a line.
func parsePids(b []byte) []int {
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// killCgroup SIGKILLs every process in a cgroup and below it.
func killCgroup(dir string) {
	os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
}

// removeCgroupTree removes a cgroup and the ones below it, deepest first,
// waiting (up to killWatchdog) for killed processes to leave them.
func removeCgroupTree(dir string) {
	var dirs []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	deadline := time.Now().Add(killWatchdog)
	for i := len(dirs) - 1; i >= 0; i-- {
		for {
			err := unix.Rmdir(dirs[i])
			if err == nil || errors.Is(err, unix.ENOENT) || !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
				break
			}
			waitEmpty(dirs[i], time.Until(deadline))
		}
	}
}

// waitEmpty waits until a cgroup holds no process, or limit passes. The
// kernel signals a change of cgroup.events ("populated 0") to inotify.
func waitEmpty(dir string, limit time.Duration) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		time.Sleep(time.Millisecond)
		return
	}
	defer unix.Close(fd)
	events := filepath.Join(dir, "cgroup.events")
	if _, err := unix.InotifyAddWatch(fd, events, unix.IN_MODIFY); err != nil {
		time.Sleep(time.Millisecond)
		return
	}
	deadline := time.Now().Add(limit)
	for {
		b, err := os.ReadFile(events)
		if err != nil || strings.Contains(string(b), "populated 0") {
			return
		}
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		unix.Poll(pfd, ms)
		var buf [4096]byte
		unix.Read(fd, buf[:])
	}
}

// cleanStaleCgroups kills the processes of cgroups left by hosts that are
// gone and removes those cgroups; it returns how many processes it
// killed. A host that is still running keeps its own.
func cleanStaleCgroups(base string) int {
	entries, err := os.ReadDir(base)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), cgroupPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		// "<pid>.<starttime>.<n>": the owner is the first two.
		parts := strings.Split(name, ".")
		if len(parts) != 3 || ownerAlive(parts[0]+"."+parts[1]) {
			continue
		}
		dir := filepath.Join(base, e.Name())
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				n += len(readPids(path))
			}
			return nil
		})
		killCgroup(dir)
		removeCgroupTree(dir)
	}
	return n
}
