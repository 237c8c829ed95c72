package backendtest

import (
	"time"

	"github.com/batchhost/batchhost/host/internal/backend"
)

// lease is the leader lease of the model: its holder ("" for none) and
// when it expires.
type lease struct {
	owner   string
	expires time.Time
}

// Heartbeat is backend.Membership.Heartbeat.
func (m *Model) Heartbeat(h backend.HostInfo, now time.Time, ttl time.Duration) error {
	if err := backend.CheckHeartbeat(h, now, ttl); err != nil {
		return errorf(backend.ErrInvalid, "%v", err)
	}
	h = h.Clone()
	h.Seen, h.Expires, h.Leader = now, now.Add(ttl), false
	m.hosts[h.Owner] = h
	return nil
}

// Hosts is backend.Membership.Hosts.
func (m *Model) Hosts(now time.Time) []backend.HostInfo {
	out := make([]backend.HostInfo, 0, len(m.hosts))
	for _, h := range m.hosts {
		h = h.Clone()
		h.Leader = m.lease.owner == h.Owner && m.lease.expires.After(now)
		out = append(out, h)
	}
	backend.SortHosts(out)
	return out
}

// Leave is backend.Membership.Leave.
func (m *Model) Leave(owner string) error {
	if owner == "" {
		return errorf(backend.ErrInvalid, "leave: no owner")
	}
	delete(m.hosts, owner)
	if m.lease.owner == owner {
		m.lease = lease{}
	}
	return nil
}

// Lead is backend.Membership.Lead.
func (m *Model) Lead(owner string, now time.Time, ttl time.Duration) (bool, error) {
	if err := backend.CheckLease(owner, now, ttl); err != nil {
		return false, errorf(backend.ErrInvalid, "%v", err)
	}
	if !backend.MayLead(m.lease.owner, m.lease.expires, owner, now) {
		return false, nil
	}
	m.lease = lease{owner: owner, expires: now.Add(ttl)}
	return true, nil
}

// PruneHosts is backend.Membership.PruneHosts.
func (m *Model) PruneHosts(before time.Time) int {
	n := 0
	for o, h := range m.hosts {
		if h.Expires.Before(before) {
			delete(m.hosts, o)
			n++
		}
	}
	return n
}
