package deps

// CycleVia reports the cycle that making job depend on dep would close, as
// job → dep → ... → job along "waits for", or nil. It searches from job
// along dependentsOf (the unfinished jobs that wait for a job), so its
// cost is the size of job's downstream: nothing at all for a job nobody
// waits for yet, which is the common case of adding a new job to a long
// sequential group.
func CycleVia(job, dep string, dependentsOf func(id string) []string) []string {
	back := FindCycle(dep, job, dependentsOf)
	if back == nil {
		return nil
	}
	// back is dep, job, d1, ..., dep along "is waited for by"; turn it
	// into job → dep → ... → d1 → job along "waits for".
	path := []string{job}
	for i := len(back) - 1; i >= 2; i-- {
		path = append(path, back[i])
	}
	return append(path, job)
}

// SequentialCycle reports the cycle that adding ids, in order, to a
// sequential group whose last member is last ("" if none) would close, or
// nil: each will wait for the one before it, so for every job before it.
// Such a cycle needs one of those earlier jobs to wait, already, for the
// job itself; a job nothing waits for (a fresh one) costs O(1).
func SequentialCycle(last string, ids []string, dependentsOf func(id string) []string) []string {
	earlier := make(map[string]bool, len(ids)+1)
	if last != "" {
		earlier[last] = true
	}
	for _, id := range ids {
		if len(dependentsOf(id)) > 0 {
			if hit := FindAny(id, dependentsOf, func(d string) bool { return earlier[d] }); hit != "" {
				return CycleVia(id, hit, dependentsOf)
			}
		}
		earlier[id] = true
	}
	return nil
}
