package backendtest

import (
	"fmt"
	"strings"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
	"github.com/batchhost/batchhost/host/internal/errkind"
	"github.com/batchhost/batchhost/host/internal/model"
)

// The membership steps of the random history: hosts heartbeat (now and
// then refused), lead, leave and are pruned; a leader rescues the
// attempts of the owners not alive, as a host's leader loop does. Their
// owners are the claimers' (host-1, host-2) and host-3, which claims
// nothing; an attempt's owner that never heartbeats is rescued too.

// memberOwners are the owners the membership steps draw from.
var memberOwners = []string{"host-1", "host-2", "host-3"}

func (h *history) memberOwner() string { return memberOwners[h.r.IntN(len(memberOwners))] }

// ttl draws a TTL of 1 to 10 s in whole milliseconds; now and then one
// that is refused.
func (h *history) ttl() time.Duration {
	if h.chance(0.05) {
		return 0
	}
	return time.Duration(1000+h.r.IntN(9000)) * time.Millisecond
}

func (h *history) heartbeat() error {
	owner := h.memberOwner()
	hi := backend.HostInfo{Owner: owner, Name: "node-" + owner[len(owner)-1:], PID: 100 + h.r.IntN(900), Version: "v1",
		Slots: h.r.IntN(9), Started: at(-1)}
	for _, t := range []string{taskA, taskB} {
		if h.chance(0.5) {
			hi.Tasks = append(hi.Tasks, t)
		}
	}
	ttl := h.ttl()
	h.logf("Heartbeat %s ttl=%s at=%s", owner, ttl, h.clock(h.now))
	return agree(h.s.Heartbeat(h.e.ctx, hi, h.now, ttl), h.m.Heartbeat(hi, h.now, ttl))
}

// lead asks for the lease and compares the answer; it answers whether
// the owner leads.
func (h *history) lead(owner string) (bool, error) {
	ttl := h.ttl()
	got, gerr := h.s.Lead(h.e.ctx, owner, h.now, ttl)
	want, werr := h.m.Lead(owner, h.now, ttl)
	h.logf("Lead %s ttl=%s at=%s: %v", owner, ttl, h.clock(h.now), want)
	if err := agree(gerr, werr); err != nil || werr != nil {
		return false, err
	}
	if got != want {
		return false, fmt.Errorf("Lead answered %v, the model %v", got, want)
	}
	return want, nil
}

func (h *history) leave() error {
	owner := h.memberOwner()
	h.logf("Leave %s", owner)
	return agree(h.s.Leave(h.e.ctx, owner), h.m.Leave(owner))
}

func (h *history) pruneHosts() error {
	before := h.now.Add(-time.Duration(h.r.IntN(5000)) * time.Millisecond)
	h.logf("PruneHosts before=%s", h.clock(before))
	got, err := h.s.PruneHosts(h.e.ctx, before)
	if err != nil {
		return fmt.Errorf("PruneHosts: %w", err)
	}
	if want := h.m.PruneHosts(before); got != want {
		return fmt.Errorf("PruneHosts deleted %d, the model %d", got, want)
	}
	return nil
}

// rescue is a leader's round: lead, and if it leads, end as interrupted
// every attempt whose owner is not alive at now.
func (h *history) rescue() error {
	owner := h.memberOwner()
	led, err := h.lead(owner)
	if err != nil || !led {
		return err
	}
	alive := backend.AliveOwners(h.m.Hosts(h.now), h.now)
	got, err := h.s.Running(h.e.ctx, alive)
	if err != nil {
		return fmt.Errorf("Running: %w", err)
	}
	want, _ := h.m.Running(alive)
	if err := h.sameJobs(fmt.Sprintf("Running(%v)", alive), want, got); err != nil {
		return err
	}
	if len(want) == 0 {
		return nil
	}
	fs := make([]backend.Finish, len(want))
	var b strings.Builder
	for i, j := range want {
		fs[i] = backend.Finish{ID: j.ID, Owner: j.Owner, Attempt: j.Attempt, State: model.Queued, At: h.now,
			Error: &model.JobError{Kind: errkind.Interrupted, Message: "the host stopped", Retryable: true}}
		fmt.Fprintf(&b, " [%s %s/%d]", j.ID[24:], j.Owner, j.Attempt)
	}
	h.logf("Rescue by %s, alive %v:%s", owner, alive, b.String())
	gc, gerr := h.s.Finish(h.e.ctx, fs)
	wc, werr := h.m.Finish(fs)
	if err := agree(gerr, werr); err != nil || werr != nil {
		return err
	}
	return h.sameChanges("Finish (rescue)", gc, wc, "")
}

// leaveAll makes every owner leave, on both: before a reopen, since the
// bbolt store keeps hosts and lease in memory and PostgreSQL keeps
// them (a host stopping cleanly leaves).
func (h *history) leaveAll() error {
	for _, o := range memberOwners {
		if err := agree(h.s.Leave(h.e.ctx, o), h.m.Leave(o)); err != nil {
			return err
		}
	}
	return nil
}

// compareHosts compares Hosts at now.
func (h *history) compareHosts() error {
	got, err := h.s.Hosts(h.e.ctx, h.now)
	if err != nil {
		return fmt.Errorf("Hosts: %w", err)
	}
	if d := diff(h.m.Hosts(h.now), got); d != "" {
		return fmt.Errorf("Hosts(%s) differs (-model +backend):\n%s", h.clock(h.now), d)
	}
	return nil
}
