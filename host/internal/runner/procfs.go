package runner

import (
	"os"
	"strconv"
	"strings"
)

// stat is what the runner reads of a process in /proc/<pid>/stat.
type stat struct {
	state      byte
	ppid, pgrp int
	start      uint64 // clock ticks after boot
}

// readStat reads /proc/<pid>/stat; false if the process is gone. Linux
// only.
func readStat(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
	// majflt cmajflt utime stime cutime cstime priority nice threads
	// itrealvalue starttime ...; comm may hold spaces and parens.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return stat{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return stat{}, false
	}
	var st stat
	st.state = f[0][0]
	st.ppid, _ = strconv.Atoi(f[1])
	st.pgrp, _ = strconv.Atoi(f[2])
	st.start, _ = strconv.ParseUint(f[19], 10, 64)
	return st, true
}

// allStats reads every process in /proc.
func allStats() map[int]stat {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	procs := map[int]stat{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(p); ok {
			procs[p] = st
		}
	}
	return procs
}

// descendants lists pid's live descendants, whatever their group or
// session, zombies left out. It follows /proc/<pid>/task/<tid>/children,
// which costs a few reads for a process without children (the common
// case, after every attempt); without that file (a kernel built without
// CONFIG_PROC_CHILDREN) it reads every process in /proc.
func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		kids, ok := children(n)
		if !ok {
			return descendantsByScan(pid)
		}
		for _, c := range kids {
			if st, ok := readStat(c); ok && st.state != 'Z' {
				out = append(out, c)
			}
			queue = append(queue, c)
		}
	}
	return out
}

// children lists pid's children from /proc/<pid>/task/*/children; false
// if the kernel has no such files. A process that is gone has none.
func children(pid int) ([]int, bool) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil, true
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/children")
		if err != nil {
			if os.IsNotExist(err) {
				if _, err := os.Stat(dir + "/" + t.Name()); err == nil {
					return nil, false
				}
			}
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out, true
}

// descendantsByScan is descendants from one read of every process.
func descendantsByScan(pid int) []int {
	procs := allStats()
	kids := map[int][]int{}
	for p, st := range procs {
		kids[st.ppid] = append(kids[st.ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, c := range kids[n] {
			if procs[c].state != 'Z' {
				out = append(out, c)
			}
			queue = append(queue, c)
		}
	}
	return out
}

// descendantGroups returns the process groups of pid's descendants that
// are not pid's own group: commands a plugin started in groups of their
// own (the exec plugin does, to kill a command's whole tree on cancel).
// Signals meant for the plugin's work — stop, continue, kill — must reach
// them too. Linux only; elsewhere it finds none.
func descendantGroups(pid int) []int {
	seen := map[int]bool{pid: true}
	var groups []int
	for _, c := range descendants(pid) {
		st, ok := readStat(c)
		if g := st.pgrp; ok && !seen[g] {
			seen[g] = true
			groups = append(groups, g)
		}
	}
	return groups
}
