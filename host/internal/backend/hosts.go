package backend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Membership is what hosts sharing a queue know of each other: who is
// there (a registry each host renews by heartbeat) and who leads (a
// lease one host at a time holds, for the maintenance only one should
// do: promoting delayed jobs, rescuing the attempts of hosts whose
// heartbeat expired, pruning).
//
// Every time comes from the call (now), never from the store's clock, as
// everywhere in the port: hosts whose clocks disagree by less than a TTL
// still agree on who is alive. A host is alive at now when its Expires
// is after now (HostInfo.Alive); a lease is held at now by its holder
// when its expiry is after now (MayLead).
//
// The embedded bbolt store keeps both in memory (one host owns its file;
// a reopened store has no hosts and no leader), PostgreSQL in tables
// every host shares.
type Membership interface {
	// Heartbeat registers h, or renews its registration, under h.Owner:
	// every field as given, Seen = now and Expires = now + ttl. An empty
	// Owner, a zero now or a ttl below one microsecond is ErrInvalid
	// (see CheckHeartbeat).
	Heartbeat(ctx context.Context, h HostInfo, now time.Time, ttl time.Duration) error

	// Hosts answers every registered host, expired ones too (so that
	// they can be shown; alive is HostInfo.Alive(now)), sorted by Name
	// then Owner (byte order). Leader is set on the host that holds the
	// leader lease at now.
	Hosts(ctx context.Context, now time.Time) ([]HostInfo, error)

	// Leave removes owner's registration, and its leader lease if it
	// holds one, so that another host may lead at once: a host stopping
	// cleanly calls it last. An owner that is not registered is not an
	// error; an empty one is ErrInvalid.
	Leave(ctx context.Context, owner string) error

	// Lead takes the leader lease for owner when no one holds it at now
	// (none, or its expiry is not after now), or renews it when owner
	// holds it; either way the lease then expires at now + ttl and Lead
	// answers true. It answers false, changing nothing, when another
	// owner holds it at now. However many hosts call it at once, at most
	// one holds the lease at any instant. A leader that cannot renew
	// (false, or an error, until its last renewal's now + ttl) must stop
	// acting as one before the lease expires. Arguments are checked as
	// CheckLease does.
	Lead(ctx context.Context, owner string, now time.Time, ttl time.Duration) (bool, error)

	// PruneHosts deletes the registrations that expired before before
	// (Expires strictly before it) and answers how many it deleted. A
	// lease is not touched: an expired one is taken over by Lead.
	PruneHosts(ctx context.Context, before time.Time) (int, error)
}

// HostInfo is one host's registration.
type HostInfo struct {
	// Owner is the host's id in the queue, the Owner of the attempts it
	// claims (ClaimParams.Owner). It identifies the registration.
	Owner string
	// Name is the machine's host name, PID the process id, Version the
	// batchhost version: what an operator needs to find the process.
	Name    string
	PID     int
	Version string
	// Tasks are the tasks the host's plugins serve, Slots its worker
	// slots.
	Tasks []string
	Slots int
	// Started is when the host started, as the host says.
	Started time.Time
	// Seen is the now of the host's last heartbeat, and Expires that now
	// plus its ttl: both set by the store; a Heartbeat ignores them.
	Seen    time.Time
	Expires time.Time
	// Leader is set by Hosts on the host that holds the leader lease at
	// the now it was given; a Heartbeat ignores it.
	Leader bool
}

// Alive reports whether h's registration is live at now: its last
// heartbeat's ttl has not run out.
func (h HostInfo) Alive(now time.Time) bool { return h.Expires.After(now) }

// Clone is a copy that shares nothing with h.
func (h HostInfo) Clone() HostInfo {
	h.Tasks = slices.Clone(h.Tasks)
	if len(h.Tasks) == 0 {
		h.Tasks = nil
	}
	return h
}

// AliveOwners answers the owners of the hosts alive at now, in the
// order of hs: what Running takes as alive when a leader looks for the
// attempts to rescue.
func AliveOwners(hs []HostInfo, now time.Time) []string {
	var out []string
	for _, h := range hs {
		if h.Alive(now) {
			out = append(out, h.Owner)
		}
	}
	return out
}

// SortHosts sorts hosts as Hosts answers them: by Name, then Owner.
func SortHosts(hs []HostInfo) {
	slices.SortFunc(hs, func(a, b HostInfo) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Owner, b.Owner)
	})
}

// MayLead is the lease rule of Lead for a store that decides it in Go:
// owner may take or renew the lease that holder ("" for none) holds
// until expires, at now, when it is owner's or no one holds it at now.
func MayLead(holder string, expires time.Time, owner string, now time.Time) bool {
	return holder == "" || holder == owner || !expires.After(now)
}

// CheckHeartbeat is the check of Heartbeat's arguments that every
// backend makes; each returns it wrapped as its ErrInvalid.
func CheckHeartbeat(h HostInfo, now time.Time, ttl time.Duration) error {
	if h.Owner == "" {
		return errors.New("heartbeat: no owner")
	}
	return checkTTL("heartbeat", now, ttl)
}

// CheckLease is the check of Lead's arguments that every backend makes;
// each returns it wrapped as its ErrInvalid.
func CheckLease(owner string, now time.Time, ttl time.Duration) error {
	if owner == "" {
		return errors.New("lead: no owner")
	}
	return checkTTL("lead", now, ttl)
}

// checkTTL refuses a zero now and a ttl below a microsecond (the
// resolution PostgreSQL keeps), with which a registration or lease
// would have expired when written.
func checkTTL(op string, now time.Time, ttl time.Duration) error {
	if now.IsZero() {
		return fmt.Errorf("%s: no time given", op)
	}
	if ttl < time.Microsecond {
		return fmt.Errorf("%s: ttl %s (want at least 1µs)", op, ttl)
	}
	return nil
}
