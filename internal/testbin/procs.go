package testbin

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Proc is a process seen in /proc.
type Proc struct {
	PID   int
	PPID  int
	State string // R, S, T (stopped), Z (zombie), ...
	Cmd   string // the executable's base name
}

// Descendants lists the live processes below pid (children, grandchildren,
// ...), read from /proc. Zombies are included: a zombie child is a leak of
// a Wait that never happened. Linux only.
func Descendants(pid int) []Proc {
	all := procs()
	children := map[int][]Proc{}
	for _, p := range all {
		children[p.PPID] = append(children[p.PPID], p)
	}
	var out []Proc
	queue := []int{pid}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, c := range children[next] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	return out
}

// FindByEnv lists live, non-zombie processes whose environment contains
// the exact entry kv ("KEY=value"). Tests tag the processes they start this
// way to find orphans that were reparented after their host died.
func FindByEnv(kv string) []Proc {
	var out []Proc
	for _, p := range procs() {
		if p.State == "Z" {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.PID), "environ"))
		if err != nil {
			continue
		}
		for _, e := range strings.Split(string(env), "\x00") {
			if e == kv {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func procs() []Proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Format: pid (comm) state ppid ...; comm may hold spaces and parens.
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		out = append(out, Proc{PID: pid, PPID: ppid, State: fields[0], Cmd: s[open+1 : closing]})
	}
	return out
}

// WaitExit waits up to limit for process pid to exit, and reports whether
// it did. It waits on the process's pidfd, which becomes readable when the
// process exits (an event, not a poll of /proc); a pid already gone counts
// as exited.
func WaitExit(pid int, limit time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return errors.Is(err, unix.ESRCH)
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(limit)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return false
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if err == nil && n > 0 {
			return true
		}
		if err != nil && err != unix.EINTR {
			return false
		}
	}
}
