package backendtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/model"
)

var historyRules = []rule{
	{"Random", testHistory},
}

// Environment variables of the random history.
const (
	// SeedEnv replays a history: the seed a failure printed.
	SeedEnv = "BACKENDTEST_SEED"
	// BudgetEnv is how long to keep running new histories (a Go
	// duration); one history runs however small it is.
	BudgetEnv = "BACKENDTEST_BUDGET"
	// defaultBudget keeps the suite quick enough for every CI run.
	defaultBudget = 2 * time.Second
	// historySteps is the length of one history: long enough for
	// cascades, retries and prunes to meet, short enough that a failure's
	// log can be read.
	historySteps = 150
)

// testHistory drives the backend and the reference Model with the same
// random operations and compares every answer, and the whole stored
// state, after each step.
func testHistory(e *env) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(SeedEnv); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			e.t.Fatalf("%s=%q is not a number", SeedEnv, v)
		}
		seed = s
	}
	budget := defaultBudget
	if v := os.Getenv(BudgetEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.t.Fatalf("%s=%q is not a duration (e.g. 30s)", BudgetEnv, v)
		}
		budget = d
	}
	deadline := time.Now().Add(budget)
	// cur is the seed of the history running; a failure outside the
	// comparisons (a helper's Fatal, a panic) still names it.
	cur, named := seed, false
	e.t.Cleanup(func() {
		if e.t.Failed() && !named {
			e.t.Logf("the random history that failed: replay it with %s=%d %s=0", SeedEnv, cur, BudgetEnv)
		}
	})
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "the random history panicked: replay it with %s=%d %s=0\n", SeedEnv, cur, BudgetEnv)
			panic(r)
		}
	}()
	n := 0
	for ; n == 0 || time.Now().Before(deadline); n++ {
		s := e.s
		if n > 0 {
			s = e.h.Open(e.t)
		}
		cur = seed + uint64(n)
		h := newHistory(e, s, cur)
		if err := h.run(historySteps); err != nil {
			named = true
			e.t.Fatalf("random history failed: %v\nreplay it with: %s=%d %s=0 go test -run '%s' ...\nthe steps before it:\n%s",
				err, SeedEnv, seed+uint64(n), BudgetEnv, e.t.Name(), strings.Join(h.log, "\n"))
		}
	}
	e.t.Logf("%d random histories of %d steps from seed %d agreed with the model", n, historySteps, seed)
}

// history is one random history: the backend under test, the model, and
// what the generator draws from.
type history struct {
	e     *env
	s     backend.Store
	m     *Model
	ms    *modelStore // the model as a store, for the same reads
	r     *rand.Rand
	now   time.Time
	known []string // every job id the history made, pruned ones included
	grps  []string
	sched string
	log   []string
	// before is the model before the step, to tell what it changed.
	before *Model
}

func newHistory(e *env, s backend.Store, seed uint64) *history {
	m := NewModel()
	h := &history{e: e, s: s, m: m, r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: at(0),
		ms: &modelStore{mu: &sync.Mutex{}, m: m, changed: make(chan struct{}, 1)}}
	return h
}

func (h *history) logf(format string, args ...any) {
	h.log = append(h.log, fmt.Sprintf("%3d ", len(h.log)+1)+fmt.Sprintf(format, args...))
}

func (h *history) run(steps int) error {
	sc := newSchedule(h.now.Add(10 * time.Second))
	h.sched = sc.ID
	h.logf("PutSchedule %s next %s", sc.ID, h.clock(sc.NextFire))
	if err := agree(h.s.PutSchedule(h.e.ctx, sc), h.m.PutSchedule(sc)); err != nil {
		return err
	}
	ops := []struct {
		weight int
		run    func() error
	}{
		{25, h.insert}, {18, h.claim}, {18, h.finish}, {3, h.progress}, {14, h.request},
		{4, h.addDeps}, {4, h.addToGroup}, {3, h.prune}, {2, h.delete}, {2, h.purge}, {4, h.fire}, {10, h.tick}, {2, h.reopen},
		{4, h.heartbeat}, {3, h.rescue}, {1, h.leave}, {1, h.pruneHosts},
	}
	total := 0
	for _, op := range ops {
		total += op.weight
	}
	for range steps {
		pick := h.r.IntN(total)
		for _, op := range ops {
			if pick -= op.weight; pick < 0 {
				h.before = h.m.clone()
				if err := op.run(); err != nil {
					return fmt.Errorf("step %d (%s): %w", len(h.log), lastLine(h.log), err)
				}
				if err := h.compareState(); err != nil {
					return fmt.Errorf("after step %d (%s): %w", len(h.log), lastLine(h.log), err)
				}
				break
			}
		}
	}
	return nil
}

func lastLine(log []string) string {
	if len(log) == 0 {
		return ""
	}
	return strings.TrimSpace(log[len(log)-1])
}

func (h *history) clock(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%.3fs", t.Sub(T0).Seconds())
}

// errClass names the sentinel an error matches, for comparing a backend's
// refusal with the model's.
func errClass(err error) string {
	if err == nil {
		return "ok"
	}
	for _, s := range []error{backend.ErrInvalid, backend.ErrNotFound, backend.ErrState, backend.ErrConflict, backend.ErrClosed, backend.ErrFailed, backend.ErrUnavailable} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "unclassified error"
}

// agree compares the backend's error with the model's.
func agree(got, want error) error {
	if errClass(got) != errClass(want) {
		return fmt.Errorf("backend answered %q (%v), the model %q (%v)", errClass(got), got, errClass(want), want)
	}
	return nil
}

// --- drawing ---

func (h *history) chance(p float64) bool { return h.r.Float64() < p }

func (h *history) anyJob() string {
	if len(h.known) == 0 || h.chance(0.03) {
		return newID()
	}
	return h.known[h.r.IntN(len(h.known))]
}

// jobIn draws a stored job in one of the states, or "".
func (h *history) jobWhere(ok func(*model.Job) bool) *model.Job {
	var c []*model.Job
	for _, id := range h.known {
		if j := h.m.jobs[id]; j != nil && ok(j) {
			c = append(c, j)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[h.r.IntN(len(c))]
}

func (h *history) policy() model.DepPolicy {
	if h.chance(0.7) {
		return model.DepCancel
	}
	return model.DepIgnore
}

func (h *history) owner() string { return []string{"host-1", "host-2"}[h.r.IntN(2)] }

// --- operations ---

func (h *history) insert() error {
	p := backend.InsertParams{Now: h.now, Hold: h.chance(0.15)}
	var newGroups []string
	if h.chance(0.25) {
		g := newGroup(h.chance(0.5), h.chance(0.5))
		p.Groups = append(p.Groups, g)
		newGroups = append(newGroups, g.ID)
	}
	var inCall []string
	for range 1 + h.r.IntN(3) {
		j := newJob(withTask([]string{taskA, taskB}[h.r.IntN(2)]), withPriority(model.Priorities[h.r.IntN(4)]))
		for range h.r.IntN(3) {
			d := h.anyJob()
			if len(inCall) > 0 && h.chance(0.3) {
				d = inCall[h.r.IntN(len(inCall))]
			}
			if !containsDep(j.DependsOn, d) {
				j.DependsOn = append(j.DependsOn, model.Dep{ID: d, Policy: h.policy()})
			}
		}
		switch {
		case len(newGroups) > 0 && h.chance(0.6):
			j.Group = newGroups[0]
		case len(h.grps) > 0 && h.chance(0.3):
			j.Group = h.grps[h.r.IntN(len(h.grps))]
		}
		if h.chance(0.2) {
			j.Key = fmt.Sprintf("key-%d", h.r.IntN(6))
		}
		if h.chance(0.25) {
			j.Resources = model.Resources{MilliCPU: 500 * int64(h.r.IntN(5)), MemoryMB: 300 * int64(h.r.IntN(3))}
		}
		switch {
		case h.chance(0.15):
			j.RunAt = h.now.Add(time.Duration(h.r.IntN(20000)) * time.Millisecond)
		case h.chance(0.05):
			j.RunAt = h.now.Add(-5 * time.Second)
		}
		p.Jobs = append(p.Jobs, j)
		inCall = append(inCall, j.ID)
	}
	h.logf("Insert hold=%v groups=%v jobs=%s", p.Hold, newGroups, describeJobs(p.Jobs))
	gotRes, gerr := h.s.Insert(h.e.ctx, cloneInsert(p))
	got := gotRes.Jobs
	want, werr := h.m.Insert(cloneInsert(p))
	if err := agree(gerr, werr); err != nil || werr != nil {
		return err
	}
	h.grps = append(h.grps, newGroups...)
	for i, in := range want {
		if !in.Existing {
			h.known = append(h.known, in.Job.ID)
		}
		if got[i].Existing != in.Existing {
			return fmt.Errorf("entry %d: Existing = %v, the model says %v", i+1, got[i].Existing, in.Existing)
		}
	}
	return h.sameJobs("Insert's answer", jobsOf(want), jobsOf(got))
}

func containsDep(ds []model.Dep, id string) bool {
	for _, d := range ds {
		if d.ID == id {
			return true
		}
	}
	return false
}

func describeJobs(js []*model.Job) string {
	var b strings.Builder
	for _, j := range js {
		fmt.Fprintf(&b, " [%s %s p=%s", j.ID[24:], j.Task, j.Priority)
		if !j.Resources.IsZero() {
			fmt.Fprintf(&b, " needs=%s", j.Resources)
		}
		for _, d := range j.DependsOn {
			fmt.Fprintf(&b, " dep=%s/%s", d.ID[24:], d.Policy)
		}
		if j.Group != "" {
			fmt.Fprintf(&b, " group=%s", j.Group[24:])
		}
		if j.Key != "" {
			fmt.Fprintf(&b, " key=%s", j.Key)
		}
		if !j.RunAt.IsZero() {
			fmt.Fprintf(&b, " runat=%s", j.RunAt.Sub(T0))
		}
		b.WriteString("]")
	}
	return b.String()
}

func cloneInsert(p backend.InsertParams) backend.InsertParams {
	c := p
	c.Jobs = make([]*model.Job, len(p.Jobs))
	for i, j := range p.Jobs {
		c.Jobs[i] = j.Clone()
	}
	c.Groups = make([]*model.Group, len(p.Groups))
	for i, g := range p.Groups {
		c.Groups[i] = g.Clone()
	}
	return c
}

func jobsOf(ins []backend.Inserted) []*model.Job {
	out := make([]*model.Job, len(ins))
	for i, in := range ins {
		out[i] = in.Job
	}
	return out
}

func (h *history) claim() error {
	p := backend.ClaimParams{Owner: h.owner(), Limit: 1 + h.r.IntN(4), Now: h.now, Quota: map[string]int{}}
	for _, task := range []string{taskA, taskB} {
		if h.chance(0.8) {
			p.Quota[task] = h.r.IntN(4)
		}
	}
	if h.chance(0.5) {
		// Within a capacity of 2 CPUs and 1000 MiB, some of it in use.
		total := model.Resources{MilliCPU: 2000, MemoryMB: 1000}
		p.Capacity = &backend.Capacity{Total: total,
			Free: total.Sub(model.Resources{MilliCPU: 500 * int64(h.r.IntN(4)), MemoryMB: 300 * int64(h.r.IntN(3))})}
	}
	h.logf("Claim owner=%s limit=%d quota=%v capacity=%+v now=%s", p.Owner, p.Limit, p.Quota, p.Capacity, h.clock(h.now))
	got, gerr := h.s.Claim(h.e.ctx, p)
	want, werr := h.m.Claim(p)
	if err := agree(gerr, werr); err != nil || werr != nil {
		return err
	}
	return h.sameJobs("Claim's answer", want, got)
}

func (h *history) finish() error {
	var fs []backend.Finish
	at := h.now
	for range 1 + h.r.IntN(3) {
		j := h.jobWhere(runs)
		if j == nil {
			break
		}
		f := backend.Finish{ID: j.ID, Owner: j.Owner, Attempt: j.Attempt, At: at}
		switch {
		case h.chance(0.05):
			f.Owner = "host-gone"
		case h.chance(0.05):
			f.Attempt--
		}
		switch h.r.IntN(5) {
		case 0, 1:
			f.State = model.Completed
			f.Result = []byte(fmt.Sprintf(`{"n":%d}`, h.r.IntN(100)))
		case 2:
			f.State = model.Failed
			f.Error = &model.JobError{Kind: "task_error", Message: "broke"}
		case 3:
			f.State = model.Queued
			f.Error = &model.JobError{Kind: "task_error", Message: "again", Retryable: true}
			if h.chance(0.5) {
				f.RetryAt = at.Add(time.Duration(h.r.IntN(10000)) * time.Millisecond)
			}
		case 4:
			f.State = model.Canceled
			f.Error = &model.JobError{Kind: "canceled", Message: "stopped"}
		}
		if h.chance(0.5) {
			f.Progress = &model.Progress{Fraction: 1, Message: "end"}
		}
		fs = append(fs, f)
	}
	if len(fs) == 0 {
		return h.claim()
	}
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, " [%s %s/%d %s]", f.ID[24:], f.Owner, f.Attempt, f.State)
	}
	h.logf("Finish%s at=%s", b.String(), h.clock(at))
	got, gerr := h.s.Finish(h.e.ctx, fs)
	want, werr := h.m.Finish(fs)
	if err := agree(gerr, werr); err != nil || werr != nil {
		return err
	}
	return h.sameChanges("Finish", got, want, "")
}

func (h *history) progress() error {
	j := h.jobWhere(runs)
	if j == nil {
		return h.tick()
	}
	u := backend.ProgressUpdate{ID: j.ID, Owner: j.Owner, Attempt: j.Attempt, Progress: model.Progress{Fraction: float64(h.r.IntN(100)) / 100, Message: "step"}}
	if h.chance(0.2) {
		u.Owner = "host-gone"
	}
	h.logf("Progress %s %s/%d %.2f", j.ID[24:], u.Owner, u.Attempt, u.Progress.Fraction)
	return agree(h.s.Progress(h.e.ctx, []backend.ProgressUpdate{u}), h.m.Progress([]backend.ProgressUpdate{u}))
}

func (h *history) request() error {
	r := backend.Request{Kind: backend.RequestKind(1 + h.r.IntN(5)), ID: h.anyJob(), Now: h.now}
	if h.chance(0.5) {
		r.Why = &model.JobError{Kind: "canceled", Message: "asked " + strconv.Itoa(h.r.IntN(9))}
	}
	h.logf("Request %s %s now=%s", kindName(r.Kind), r.ID[24:], h.clock(h.now))
	got, gerr := h.s.Request(h.e.ctx, r)
	want, werr := h.m.Request(r)
	if err := agree(gerr, werr); err != nil || werr != nil {
		return err
	}
	if got.Owner != want.Owner {
		return fmt.Errorf("RequestResult.Owner = %q, the model says %q", got.Owner, want.Owner)
	}
	if err := h.sameJobs("RequestResult.Job", []*model.Job{want.Job}, []*model.Job{got.Job}); err != nil {
		return err
	}
	return h.sameChanges("Request", got.Changes, want.Changes, r.ID)
}

func (h *history) addDeps() error {
	id := h.anyJob()
	var deps []model.Dep
	for range 1 + h.r.IntN(2) {
		d := h.anyJob()
		if !containsDep(deps, d) {
			deps = append(deps, model.Dep{ID: d, Policy: h.policy()})
		}
	}
	h.logf("AddDependencies %s deps=%v", id[24:], depIDs(deps))
	got, gerr := h.s.AddDependencies(h.e.ctx, id, deps, h.now)
	want, werr := h.m.AddDependencies(id, deps, h.now)
	if err := agree(gerr, werr); err != nil || werr != nil {
		return err
	}
	return h.sameChanges("AddDependencies", got, want, "")
}

func (h *history) addToGroup() error {
	if len(h.grps) == 0 {
		return h.insert()
	}
	g := h.grps[h.r.IntN(len(h.grps))]
	var ids []string
	for range 1 + h.r.IntN(2) {
		id := h.anyJob()
		if j := h.jobWhere(func(j *model.Job) bool { return j.State == model.Created && j.Group == "" }); j != nil && h.chance(0.7) {
			id = j.ID
		}
		if !containsString(ids, id) {
			ids = append(ids, id)
		}
	}
	h.logf("AddToGroup %s jobs=%v", g[24:], ids)
	got, gerr := h.s.AddToGroup(h.e.ctx, g, ids, h.now)
	want, werr := h.m.AddToGroup(g, ids, h.now)
	if err := agree(gerr, werr); err != nil || werr != nil {
		return err
	}
	return h.sameChanges("AddToGroup", got, want, "")
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (h *history) prune() error {
	before := h.now.Add(-time.Duration(h.r.IntN(30000)) * time.Millisecond)
	limit := 1 + h.r.IntN(5)
	h.logf("Prune before=%s limit=%d", h.clock(before), limit)
	got, gerr := h.s.Prune(h.e.ctx, before, limit)
	want, werr := h.m.Prune(before, limit)
	if err := agree(gerr, werr); err != nil || werr != nil {
		return err
	}
	if diff(want, got) != "" {
		return fmt.Errorf("Prune pruned %v, the model %v", got, want)
	}
	return nil
}

func (h *history) delete() error {
	var ids []string
	for range 1 + h.r.IntN(3) {
		id := h.anyJob()
		if j := h.jobWhere(func(j *model.Job) bool { return j.State.Terminal() }); j != nil && h.chance(0.8) {
			id = j.ID
		}
		if !containsString(ids, id) || h.chance(0.1) {
			ids = append(ids, id)
		}
	}
	h.logf("Delete %v", ids)
	got, gerr := h.s.Delete(h.e.ctx, ids)
	want, werr := h.m.Delete(ids)
	if err := agree(gerr, werr); err != nil || werr != nil {
		return err
	}
	if diff(want, got) != "" {
		return fmt.Errorf("Delete deleted %v, the model %v", got, want)
	}
	return nil
}

func (h *history) purge() error {
	f := backend.PurgeFilter{Limit: 1 + h.r.IntN(4)}
	for _, st := range []model.State{model.Completed, model.Failed, model.Canceled} {
		if h.chance(0.4) {
			f.States = append(f.States, st)
		}
	}
	if h.chance(0.03) {
		f.States = append(f.States, model.Running)
	}
	if h.chance(0.4) {
		f.Task = []string{taskA, taskB}[h.r.IntN(2)]
	}
	if h.chance(0.5) {
		f.FinishedBefore = h.now.Add(-time.Duration(h.r.IntN(30000)) * time.Millisecond)
	}
	h.logf("Purge states=%v task=%q before=%s limit=%d", f.States, f.Task, h.clock(f.FinishedBefore), f.Limit)
	got, gerr := h.s.Purge(h.e.ctx, f)
	want, werr := h.m.Purge(f)
	if err := agree(gerr, werr); err != nil || werr != nil {
		return err
	}
	if diff(want, got) != "" {
		return fmt.Errorf("Purge deleted %v, the model %v", got, want)
	}
	return nil
}

func (h *history) fire() error {
	s := h.m.schedules[h.sched]
	f := backend.Fire{Schedule: h.sched, At: s.NextFire, Now: h.now}
	if h.chance(0.2) || f.At.IsZero() {
		f.At = h.now.Add(-time.Second)
	}
	f.Next = f.At.Add(10 * time.Second)
	if h.chance(0.8) {
		j := newJob(withKey("fire-" + h.clock(f.At)))
		if s.LastJob != "" && h.chance(0.3) {
			j.DependsOn = []model.Dep{{ID: s.LastJob, Policy: model.DepIgnore}}
		}
		if len(h.grps) > 0 && h.chance(0.3) {
			j.Group = h.grps[h.r.IntN(len(h.grps))]
		}
		f.Job = j
	}
	h.logf("Fire at=%s job=%v", h.clock(f.At), f.Job != nil)
	var fj *model.Job
	if f.Job != nil {
		fj = f.Job.Clone()
	}
	g := f
	g.Job = fj
	got, gerr := h.s.Fire(h.e.ctx, g)
	want, werr := h.m.Fire(f)
	if err := agree(gerr, werr); err != nil || werr != nil {
		return err
	}
	if got.Fired != want.Fired {
		return fmt.Errorf("Fired = %v, the model says %v", got.Fired, want.Fired)
	}
	if d := diff(want.Schedule, got.Schedule); d != "" {
		return fmt.Errorf("FireResult.Schedule differs (-model +backend):\n%s", d)
	}
	if want.Job != nil && !containsString(h.known, want.Job.ID) {
		h.known = append(h.known, want.Job.ID)
	}
	if (want.Job == nil) != (got.Job == nil) {
		return fmt.Errorf("FireResult.Job = %v, the model's %v", got.Job, want.Job)
	}
	if want.Job != nil {
		return h.sameJobs("FireResult.Job", []*model.Job{want.Job}, []*model.Job{got.Job})
	}
	return nil
}

func (h *history) tick() error {
	d := time.Duration(h.r.IntN(5000)) * time.Millisecond
	h.now = h.now.Add(d)
	h.logf("Tick +%s now=%s", d, h.clock(h.now))
	return nil
}

func (h *history) reopen() error {
	if h.e.h.Reopen == nil {
		return h.tick()
	}
	if err := h.leaveAll(); err != nil {
		return err
	}
	h.logf("Leave all, Reopen")
	h.s = h.e.h.Reopen(h.e.t, h.s)
	return nil
}
