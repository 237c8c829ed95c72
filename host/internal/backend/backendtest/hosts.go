package backendtest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

var hostRules = []rule{
	{"Register", testHostsRegister},
	{"HeartbeatRenews", testHostsHeartbeatRenews},
	{"Expiry", testHostsExpiry},
	{"Leave", testHostsLeave},
	{"Refusals", testHostsRefusals},
	{"Lead", testLead},
	{"ConcurrentLeaders", testConcurrentLeaders},
	{"Rescue", testRescue},
}

// host is a registration as a host sends it.
func host(owner, name string, tasks ...string) backend.HostInfo {
	return backend.HostInfo{Owner: owner, Name: name, PID: 4000 + len(owner) + len(name), Version: "v0.1.0-" + owner,
		Tasks: tasks, Slots: len(tasks) + 1, Started: at(-60)}
}

// registered is h as Hosts answers it after a heartbeat at now with ttl.
func registered(h backend.HostInfo, now time.Time, ttl time.Duration, leader bool) backend.HostInfo {
	h = h.Clone()
	h.Seen, h.Expires, h.Leader = now, now.Add(ttl), leader
	return h
}

func (e *env) heartbeat(h backend.HostInfo, now time.Time, ttl time.Duration) {
	e.t.Helper()
	if err := e.s.Heartbeat(e.ctx, h, now, ttl); err != nil {
		e.t.Fatalf("Heartbeat of %s at %s: %v", h.Owner, now.Format(time.RFC3339), err)
	}
}

func (e *env) hosts(now time.Time) []backend.HostInfo {
	e.t.Helper()
	hs, err := e.s.Hosts(e.ctx, now)
	if err != nil {
		e.t.Fatalf("Hosts: %v", err)
	}
	return hs
}

// wantHosts checks what Hosts answers at now.
func (e *env) wantHosts(now time.Time, why string, want ...backend.HostInfo) {
	e.t.Helper()
	if d := cmp.Diff(want, e.hosts(now), cmpOpts); d != "" {
		e.t.Errorf("%s: Hosts at %s (-want +got):\n%s", why, now.Format(time.RFC3339), d)
	}
}

func (e *env) lead(owner string, now time.Time, ttl time.Duration) bool {
	e.t.Helper()
	ok, err := e.s.Lead(e.ctx, owner, now, ttl)
	if err != nil {
		e.t.Fatalf("Lead of %s at %s: %v", owner, now.Format(time.RFC3339), err)
	}
	return ok
}

// wantLead checks what Lead answers.
func (e *env) wantLead(owner string, now time.Time, ttl time.Duration, want bool, why string) {
	e.t.Helper()
	if got := e.lead(owner, now, ttl); got != want {
		e.t.Errorf("%s: Lead(%s, %s) = %v, want %v", why, owner, now.Format(time.RFC3339), got, want)
	}
}

// testHostsRegister: every field of a registration comes back as sent,
// Seen and Expires from the call; hosts come sorted by name, then owner
// (byte order), not in the order they registered.
func testHostsRegister(e *env) {
	e.wantHosts(at(0), "no host registered yet")
	const ttl = 10 * time.Second
	c := host("owner-c", "web-2", taskA, taskB)
	b := host("owner-b", "db-1", taskB)
	a := host("owner-a", "web-2", taskA)
	z := host("owner-z", "Web-3") // upper case sorts first; no tasks
	e.heartbeat(c, at(1), ttl)
	e.heartbeat(b, at(2), ttl)
	e.heartbeat(a, at(3), ttl)
	e.heartbeat(z, at(4), 2*ttl)
	e.wantHosts(at(5), "four hosts registered",
		registered(z, at(4), 2*ttl, false), registered(b, at(2), ttl, false),
		registered(a, at(3), ttl, false), registered(c, at(1), ttl, false))

	// What the caller sends in Seen, Expires and Leader is not what the
	// store keeps.
	forged := host("owner-f", "x")
	forged.Seen, forged.Expires, forged.Leader = at(1000), at(2000), true
	e.heartbeat(forged, at(6), ttl)
	hs := e.hosts(at(6))
	f := hs[len(hs)-1]
	if f.Owner != "owner-f" || !f.Seen.Equal(at(6)) || !f.Expires.Equal(at(16)) || f.Leader {
		e.t.Errorf("a heartbeat at %s with ttl %s sending its own Seen, Expires and Leader was stored as %+v", at(6), ttl, f)
	}
	// The answer is the caller's: changing it changes nothing stored.
	hs[0].Tasks = append(hs[0].Tasks, "mutated")
	hs[1].Tasks[0] = "mutated"
	e.wantHosts(at(5), "after the caller changed an answer's tasks",
		registered(z, at(4), 2*ttl, false), registered(b, at(2), ttl, false),
		registered(a, at(3), ttl, false), registered(c, at(1), ttl, false), registered(forged, at(6), ttl, false))
}

// testHostsHeartbeatRenews: a later heartbeat of one owner replaces its
// registration (a restarted host may serve other tasks, with another
// pid) and pushes its expiry; it stays one registration.
func testHostsHeartbeatRenews(e *env) {
	const ttl = 5 * time.Second
	a := host("owner-a", "node-1", taskA)
	e.heartbeat(a, at(1), ttl)
	e.heartbeat(host("owner-b", "node-2"), at(1), ttl)
	a2 := a.Clone()
	a2.PID, a2.Tasks, a2.Slots, a2.Version, a2.Started = 77, []string{taskB, taskA}, 16, "v0.2.0", at(0.5)
	e.heartbeat(a2, at(4), ttl)
	e.wantHosts(at(7), "owner-a renewed at 4s, owner-b not since 1s",
		registered(a2, at(4), ttl, false), registered(host("owner-b", "node-2"), at(1), ttl, false))
	hs := e.hosts(at(7))
	if alive := backend.AliveOwners(hs, at(7)); !slices.Equal(alive, []string{"owner-a"}) {
		e.t.Errorf("alive at 7s with ttl 5s = %v, want only owner-a (renewed at 4s)", alive)
	}
}

// testHostsExpiry: an expired registration is still listed (it is shown
// as such) until pruned; it is alive strictly before its Expires.
// PruneHosts takes those that expired strictly before its time.
func testHostsExpiry(e *env) {
	const ttl = 10 * time.Second
	e.heartbeat(host("owner-a", "n1"), at(1), ttl) // expires 11
	e.heartbeat(host("owner-b", "n2"), at(3), ttl) // expires 13
	e.heartbeat(host("owner-c", "n3"), at(5), ttl) // expires 15
	for _, c := range []struct {
		now  float64
		want []string
	}{{10.999999, []string{"owner-a", "owner-b", "owner-c"}}, {11, []string{"owner-b", "owner-c"}}, {14, []string{"owner-c"}}, {15, nil}} {
		hs := e.hosts(at(c.now))
		if len(hs) != 3 {
			e.t.Errorf("Hosts at %vs lists %d hosts, want all 3 (expired ones too)", c.now, len(hs))
		}
		if got := backend.AliveOwners(hs, at(c.now)); !slices.Equal(got, c.want) {
			e.t.Errorf("alive at %vs = %v, want %v", c.now, got, c.want)
		}
	}
	if n, err := e.s.PruneHosts(e.ctx, at(13)); err != nil || n != 1 {
		e.t.Errorf("PruneHosts(13s) = %d, %v; want 1 (owner-a expired at 11s; owner-b at 13s is not before 13s)", n, err)
	}
	e.wantHosts(at(20), "after pruning those expired before 13s",
		registered(host("owner-b", "n2"), at(3), ttl, false), registered(host("owner-c", "n3"), at(5), ttl, false))
	if n, err := e.s.PruneHosts(e.ctx, at(13)); err != nil || n != 0 {
		e.t.Errorf("PruneHosts(13s) again = %d, %v; want 0", n, err)
	}
	// A pruned host that comes back registers again.
	e.heartbeat(host("owner-a", "n1"), at(21), ttl)
	if n, err := e.s.PruneHosts(e.ctx, at(30)); err != nil || n != 2 {
		e.t.Errorf("PruneHosts(30s) = %d, %v; want 2 (owner-b, owner-c; owner-a expires at 31s)", n, err)
	}
	e.wantHosts(at(22), "after pruning all but the one that came back", registered(host("owner-a", "n1"), at(21), ttl, false))
}

// testHostsLeave: a host leaving removes its registration and gives up
// its lease, so another may lead at once; leaving twice, or without
// having registered, is not an error.
func testHostsLeave(e *env) {
	const ttl = 30 * time.Second
	a, b := host("owner-a", "n1"), host("owner-b", "n2")
	e.heartbeat(a, at(1), ttl)
	e.heartbeat(b, at(1), ttl)
	e.wantLead("owner-a", at(1), ttl, true, "the first to lead")
	e.wantHosts(at(2), "owner-a leads", registered(a, at(1), ttl, true), registered(b, at(1), ttl, false))
	e.wantLead("owner-b", at(2), ttl, false, "owner-a holds the lease until 31s")
	if err := e.s.Leave(e.ctx, "owner-a"); err != nil {
		e.t.Fatalf("Leave: %v", err)
	}
	e.wantHosts(at(3), "owner-a left", registered(b, at(1), ttl, false))
	e.wantLead("owner-b", at(3), ttl, true, "owner-a left, giving up its lease")
	for _, o := range []string{"owner-a", "never-registered"} {
		if err := e.s.Leave(e.ctx, o); err != nil {
			e.t.Errorf("Leave of %s, not registered: %v", o, err)
		}
	}
	// A host that leaves without leading keeps the leader's lease.
	e.heartbeat(a, at(4), ttl)
	if err := e.s.Leave(e.ctx, "owner-a"); err != nil {
		e.t.Fatalf("Leave: %v", err)
	}
	e.wantHosts(at(5), "owner-a left again; owner-b still leads", registered(b, at(1), ttl, true))
	e.wantLead("owner-a", at(5), ttl, false, "owner-b's lease outlives owner-a's leaving")
}

// testHostsRefusals: an empty owner, a zero time, a ttl below a
// microsecond are ErrInvalid and change nothing.
func testHostsRefusals(e *env) {
	const ttl = 10 * time.Second
	a := host("owner-a", "n1")
	e.heartbeat(a, at(1), ttl)
	e.wantLead("owner-a", at(1), ttl, true, "the first to lead")
	for _, c := range []struct {
		what string
		err  error
	}{
		{"Heartbeat without owner", e.s.Heartbeat(e.ctx, host("", "n9"), at(2), ttl)},
		{"Heartbeat at the zero time", e.s.Heartbeat(e.ctx, host("owner-a", "n9"), time.Time{}, ttl)},
		{"Heartbeat with ttl 0", e.s.Heartbeat(e.ctx, host("owner-a", "n9"), at(2), 0)},
		{"Heartbeat with a negative ttl", e.s.Heartbeat(e.ctx, host("owner-a", "n9"), at(2), -time.Second)},
		{"Heartbeat with ttl 1ns", e.s.Heartbeat(e.ctx, host("owner-a", "n9"), at(2), time.Nanosecond)},
		{"Leave without owner", e.s.Leave(e.ctx, "")},
		{"Lead without owner", leadErr(e, "", at(2), ttl)},
		{"Lead at the zero time", leadErr(e, "owner-a", time.Time{}, ttl)},
		{"Lead with ttl 0", leadErr(e, "owner-a", at(2), 0)},
	} {
		e.wantErr(c.err, backend.ErrInvalid, c.what)
	}
	e.wantHosts(at(2), "after the refused calls", registered(a, at(1), ttl, true))
}

func leadErr(e *env, owner string, now time.Time, ttl time.Duration) error {
	ok, err := e.s.Lead(e.ctx, owner, now, ttl)
	if ok {
		return fmt.Errorf("Lead answered true with error %v", err)
	}
	return err
}

// testLead: the lease is exclusive while it runs; its holder renews it
// (pushing its expiry), another owner takes it once it expired (at its
// expiry exactly), and the former holder then cannot renew it.
func testLead(e *env) {
	const ttl = 10 * time.Second
	a, b := host("owner-a", "n1"), host("owner-b", "n2")
	e.heartbeat(a, at(0), time.Hour)
	e.heartbeat(b, at(0), time.Hour)
	e.wantHosts(at(0), "no one leads yet", registered(a, at(0), time.Hour, false), registered(b, at(0), time.Hour, false))
	e.wantLead("owner-a", at(1), ttl, true, "no one holds the lease") // until 11
	e.wantLead("owner-b", at(2), ttl, false, "owner-a holds it until 11s")
	e.wantLead("owner-a", at(8), ttl, true, "owner-a renews") // until 18
	e.wantLead("owner-b", at(12), ttl, false, "owner-a renewed it until 18s")
	e.wantHosts(at(17.999999), "owner-a's lease runs until 18s", registered(a, at(0), time.Hour, true), registered(b, at(0), time.Hour, false))
	e.wantHosts(at(18), "owner-a's lease ran out at 18s", registered(a, at(0), time.Hour, false), registered(b, at(0), time.Hour, false))
	e.wantLead("owner-b", at(18), ttl, true, "owner-a's lease expired at 18s") // until 28
	e.wantHosts(at(19), "owner-b took over", registered(a, at(0), time.Hour, false), registered(b, at(0), time.Hour, true))
	e.wantLead("owner-a", at(19), ttl, false, "owner-a lost the lease: it cannot renew it")
	e.wantLead("owner-b", at(27), ttl, true, "owner-b renews") // until 37
	e.wantLead("owner-a", at(30), ttl, false, "owner-b renewed it until 37s")
	// An owner that is not registered may lead: the lease does not
	// depend on the registry.
	e.wantLead("owner-x", at(37), ttl, true, "owner-b's lease expired at 37s")
	e.wantHosts(at(38), "the leader is not registered", registered(a, at(0), time.Hour, false), registered(b, at(0), time.Hour, false))
}

// testConcurrentLeaders: hosts calling Lead at once, at one now, get
// one lease: exactly one of them is answered true, in each of several
// rounds whose now is past the last lease; a second wave in the same
// round only renews the winner's.
func testConcurrentLeaders(e *env) {
	const (
		hosts  = 8
		rounds = 6
		ttl    = 5 * time.Second
	)
	for i := range hosts {
		e.heartbeat(host(fmt.Sprintf("owner-%d", i), fmt.Sprintf("n%d", i)), at(0), time.Hour)
	}
	winners := map[string]bool{}
	for r := range rounds {
		now := at(float64(10 * (r + 1)))
		var last string
		for wave := range 2 {
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				mu    sync.Mutex
				won   []string
				errs  []error
			)
			for i := range hosts {
				owner := fmt.Sprintf("owner-%d", i)
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					ok, err := e.s.Lead(e.ctx, owner, now, ttl)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, fmt.Errorf("%s: %w", owner, err))
					}
					if ok {
						won = append(won, owner)
					}
				}()
			}
			close(start)
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				e.t.Fatalf("round %d, wave %d: Lead: %v", r, wave, err)
			}
			if len(won) != 1 {
				e.t.Fatalf("round %d, wave %d: %d hosts calling Lead at once at %s got the lease: %v; want exactly one", r, wave, hosts, now.Format(time.RFC3339), won)
			}
			if wave == 1 && won[0] != last {
				e.t.Errorf("round %d: the second wave gave the lease to %s, but %s held it (renewal only)", r, won[0], last)
			}
			last = won[0]
		}
		winners[last] = true
		var leaders []string
		for _, h := range e.hosts(now) {
			if h.Leader {
				leaders = append(leaders, h.Owner)
			}
		}
		if !slices.Equal(leaders, []string{last}) {
			e.t.Errorf("round %d: Hosts marks %v as leader, want [%s]", r, leaders, last)
		}
	}
	e.t.Logf("leaders over %d rounds: %d distinct", rounds, len(winners))
}

// testRescue is a leader's rescue of a dead host's attempts through the
// port: the host stops heartbeating; once its registration expired,
// Running with the live owners (from Hosts) answers its attempts and
// only them; the leader ends each as interrupted (a retry, which a
// requested cancel turns into canceled and a pause keeps paused); the
// dead host's late finish is then skipped, also after another host
// claimed the job again.
func testRescue(e *env) {
	const ttl = 10 * time.Second
	a, b := host("owner-a", "n1", taskA), host("owner-b", "n2", taskA)
	e.heartbeat(a, at(1), ttl) // expires 11
	e.heartbeat(b, at(1), ttl)
	e.wantLead("owner-a", at(1), ttl, true, "owner-a leads first")
	js := e.insert(at(1), newJob(), newJob(), newJob())
	claimedA := e.claim("owner-a", 3, at(2))
	if !slices.Equal(ids(claimedA), ids(js)) {
		e.t.Fatalf("owner-a claimed %v, want %v", ids(claimedA), ids(js))
	}
	jb := e.one(at(2))
	e.claimID(jb.ID, "owner-b", at(3))
	e.request(backend.RequestCancel, js[1].ID, at(4))
	e.request(backend.RequestPause, js[2].ID, at(4))

	// owner-b keeps heartbeating, owner-a stops after 1s.
	e.heartbeat(b, at(9), ttl) // expires 19
	if alive := backend.AliveOwners(e.hosts(at(10)), at(10)); len(alive) != 2 {
		e.t.Errorf("alive at 10s = %v, want both (owner-a expires at 11s)", alive)
	}
	e.wantLead("owner-b", at(10), ttl, false, "owner-a's lease runs until 11s")
	now := at(12)
	e.wantLead("owner-b", now, ttl, true, "owner-a's lease expired at 11s")
	alive := backend.AliveOwners(e.hosts(now), now)
	if !slices.Equal(alive, []string{"owner-b"}) {
		e.t.Fatalf("alive at 12s = %v, want [owner-b]", alive)
	}
	rescue, err := e.s.Running(e.ctx, alive)
	if err != nil {
		e.t.Fatalf("Running: %v", err)
	}
	if !slices.Equal(ids(rescue), ids(js)) {
		e.t.Fatalf("Running(%v) = %v, want owner-a's attempts %v", alive, ids(rescue), ids(js))
	}
	fs := make([]backend.Finish, len(rescue))
	for i, j := range rescue {
		if j.Owner != "owner-a" || j.Attempt != 1 {
			e.t.Errorf("attempt to rescue %s has owner %q, attempt %d; want owner-a, 1", j.ID, j.Owner, j.Attempt)
		}
		fs[i] = backend.Finish{ID: j.ID, Owner: j.Owner, Attempt: j.Attempt, State: model.Queued, RetryAt: at(13), At: now,
			Error: &model.JobError{Kind: errkind.Interrupted, Message: "the host stopped while this attempt was running", Retryable: true}}
	}
	if c := e.finish(fs...); len(c.Skipped) > 0 {
		e.t.Fatalf("the leader's interrupted finishes were skipped: %v", c.Skipped)
	}
	for i, want := range []model.State{model.Queued, model.Canceled, model.Paused} {
		j := e.wantState(js[i].ID, want, "rescued as interrupted")
		if j.Owner != "" {
			e.t.Errorf("rescued job %s still has owner %q", j.ID, j.Owner)
		}
		if n := len(j.Attempts); n != 1 || j.Attempts[0].Error == nil || j.Attempts[0].Error.Kind != errkind.Interrupted {
			e.t.Errorf("rescued job %s: attempts %+v, want one ended interrupted", j.ID, j.Attempts)
		}
	}
	if rest, err := e.s.Running(e.ctx, alive); err != nil || len(rest) != 0 {
		e.t.Errorf("Running(%v) after the rescue = %v, %v; want none", alive, ids(rest), err)
	}
	e.wantState(jb.ID, model.Running, "owner-b's attempt is not touched")

	// owner-a wakes up and reports its attempt completed: too late.
	late := backend.Finish{ID: js[0].ID, Owner: "owner-a", Attempt: 1, State: model.Completed, Result: []byte(`{"late":true}`), At: at(13)}
	if c := e.finish(late); !slices.Equal(c.Skipped, []string{js[0].ID}) {
		e.t.Errorf("owner-a's late finish of a rescued attempt: skipped %v, want [%s]", c.Skipped, js[0].ID)
	}
	e.wantState(js[0].ID, model.Queued, "after owner-a's late finish")
	again := e.claimID(js[0].ID, "owner-b", at(14))
	if again.Attempt != 2 {
		e.t.Errorf("the rescued job's next claim is attempt %d, want 2", again.Attempt)
	}
	if c := e.finish(late); !slices.Equal(c.Skipped, []string{js[0].ID}) {
		e.t.Errorf("owner-a's late finish after owner-b claimed the job again: skipped %v, want [%s]", c.Skipped, js[0].ID)
	}
	if j := e.wantState(js[0].ID, model.Running, "owner-b runs attempt 2"); j.Owner != "owner-b" {
		e.t.Errorf("attempt 2 has owner %q, want owner-b", j.Owner)
	}
	e.end(again, model.Completed, at(15))

	// The leader prunes owner-a's registration, long expired.
	if n, err := e.s.PruneHosts(e.ctx, at(12)); err != nil || n != 1 {
		e.t.Errorf("PruneHosts(12s) = %d, %v; want 1 (owner-a)", n, err)
	}
	e.wantHosts(at(15), "owner-a pruned", registered(b, at(9), ttl, true))
}
