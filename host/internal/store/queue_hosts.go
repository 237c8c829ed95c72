package store

import (
	"context"
	"sync"
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// members is the Queue's registry of hosts and its leader lease. One
// host owns a bbolt file, so both live in memory only: the file format
// does not change, and a reopened Queue has no hosts and no leader. The
// rules are the port's (backend.Membership), so that a host runs the
// same leader loop on either backend.
type members struct {
	mu      sync.Mutex
	hosts   map[string]backend.HostInfo
	leader  string
	expires time.Time // the leader's lease
}

// open refuses calls after Close, as the Queue's other operations do.
func (q *Queue) open() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return closedErr(q.s.path)
	}
	return nil
}

// Heartbeat registers h, or renews its registration: Seen = now,
// Expires = now + ttl.
func (q *Queue) Heartbeat(ctx context.Context, h backend.HostInfo, now time.Time, ttl time.Duration) error {
	if err := backend.CheckHeartbeat(h, now, ttl); err != nil {
		return invalid("%v", err)
	}
	if err := q.open(); err != nil {
		return err
	}
	h = h.Clone()
	h.Seen, h.Expires, h.Leader = now, now.Add(ttl), false
	m := &q.members
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hosts == nil {
		m.hosts = map[string]backend.HostInfo{}
	}
	m.hosts[h.Owner] = h
	return nil
}

// Hosts answers every registered host, by Name then Owner, the leader
// at now marked.
func (q *Queue) Hosts(ctx context.Context, now time.Time) ([]backend.HostInfo, error) {
	if err := q.open(); err != nil {
		return nil, err
	}
	m := &q.members
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]backend.HostInfo, 0, len(m.hosts))
	for _, h := range m.hosts {
		h = h.Clone()
		h.Leader = h.Owner == m.leader && m.expires.After(now)
		out = append(out, h)
	}
	backend.SortHosts(out)
	return out, nil
}

// Leave removes owner's registration and its lease.
func (q *Queue) Leave(ctx context.Context, owner string) error {
	if owner == "" {
		return invalid("leave: no owner")
	}
	if err := q.open(); err != nil {
		return err
	}
	m := &q.members
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.hosts, owner)
	if m.leader == owner {
		m.leader, m.expires = "", time.Time{}
	}
	return nil
}

// Lead takes or renews the leader lease for owner unless another owner
// holds it at now.
func (q *Queue) Lead(ctx context.Context, owner string, now time.Time, ttl time.Duration) (bool, error) {
	if err := backend.CheckLease(owner, now, ttl); err != nil {
		return false, invalid("%v", err)
	}
	if err := q.open(); err != nil {
		return false, err
	}
	m := &q.members
	m.mu.Lock()
	defer m.mu.Unlock()
	if !backend.MayLead(m.leader, m.expires, owner, now) {
		return false, nil
	}
	m.leader, m.expires = owner, now.Add(ttl)
	return true, nil
}

// PruneHosts deletes the registrations that expired before before.
func (q *Queue) PruneHosts(ctx context.Context, before time.Time) (int, error) {
	if err := q.open(); err != nil {
		return 0, err
	}
	m := &q.members
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for o, h := range m.hosts {
		if h.Expires.Before(before) {
			delete(m.hosts, o)
			n++
		}
	}
	return n, nil
}
