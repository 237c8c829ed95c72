package backendtest

var (
	requestRules    []rule
	depRules        []rule
	groupRules      []rule
	scheduleRules   []rule
	pruneRules      []rule
	readRules       []rule
	changedRules    []rule
	durableRules    []rule
	concurrentRules []rule
	historyRules    []rule
)
