package runner

import (
	"os"
	"strconv"
	"strings"
)

// descendantGroups returns the process groups of pid's descendants that
// are not pid's own group: commands a plugin started in groups of their
// own (the exec plugin does, to kill a command's whole tree on cancel).
// Signals meant for the plugin's work — stop, continue, kill — must reach
// them too. Linux only; elsewhere it finds none.
func descendantGroups(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	type proc struct{ ppid, pgrp int }
	procs := map[int]proc{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgrp, _ := strconv.Atoi(f[2])
		procs[p] = proc{ppid, pgrp}
	}
	children := map[int][]int{}
	for p, pr := range procs {
		children[pr.ppid] = append(children[pr.ppid], p)
	}
	seen := map[int]bool{pid: true}
	var groups []int
	queue := []int{pid}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, c := range children[n] {
			if g := procs[c].pgrp; g != pid && !seen[g] {
				seen[g] = true
				groups = append(groups, g)
			}
			queue = append(queue, c)
		}
	}
	return groups
}
