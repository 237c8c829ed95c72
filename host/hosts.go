package host

import (
	"context"
	"os"
	"slices"
	"time"
)

// HostStatus is one host serving the queue, as the queue's registry
// knows it: every host sharing a PostgreSQL queue registers and renews
// its registration (every third of LeaseTTL); an embedded queue has one
// host, the one answering.
type HostStatus struct {
	// Owner is the host's id in the queue, new at every start: the owner
	// of the attempts it runs.
	Owner   string `json:"owner"`
	Name    string `json:"name"` // the machine's name
	PID     int    `json:"pid"`
	Version string `json:"version,omitempty"`
	// Tasks are the tasks its plugins serve: it claims only those.
	Tasks []string `json:"tasks"`
	// Slots is its MaxWorkers.
	Slots   int       `json:"slots"`
	Started time.Time `json:"started"`
	// Seen is its last heartbeat; Alive says whether its registration is
	// current (a host silent for LeaseTTL is taken for dead, and its
	// running jobs are rescued by the leader).
	Seen  time.Time `json:"seen"`
	Alive bool      `json:"alive"`
	// Leader: it holds the leader's lease (rescues, pruning of hosts).
	Leader bool `json:"leader"`
	// Self: the host answering.
	Self bool `json:"self"`
}

// Hosts lists the hosts serving the queue, alive or not (the dead stay
// listed for a day after their last heartbeat), sorted by name.
func (h *Host) Hosts(ctx context.Context) ([]HostStatus, error) {
	if err := h.check(ctx); err != nil {
		return nil, err
	}
	if !h.shared {
		name, _ := os.Hostname()
		now := time.Now()
		return []HostStatus{{Owner: h.e.Owner(), Name: name, PID: os.Getpid(), Version: h.cfg.Version,
			Tasks: slices.Clone(h.runner.Tasks()), Slots: h.cfg.MaxWorkers, Started: h.opened, Seen: now,
			Alive: true, Leader: true, Self: true}}, nil
	}
	now := time.Now()
	infos, err := h.store.Hosts(ctx, now)
	if err != nil {
		return nil, fromBackend(err)
	}
	out := make([]HostStatus, len(infos))
	for i, in := range infos {
		out[i] = HostStatus{Owner: in.Owner, Name: in.Name, PID: in.PID, Version: in.Version, Tasks: in.Tasks,
			Slots: in.Slots, Started: in.Started, Seen: in.Seen, Alive: in.Alive(now), Leader: in.Leader,
			Self: in.Owner == h.e.Owner()}
	}
	return out, nil
}

// Shared reports whether the queue is a database other hosts may share
// (Config.Database): its jobs may run on other hosts, whose log records
// reach this host through the database, not as events.
func (h *Host) Shared() bool { return h.shared }
