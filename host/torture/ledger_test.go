package torture

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/batchhost/batchhost/host"
)

// ledger is the clients' record of what they sent and what the daemon
// acknowledged. Every job carries an idempotency key of the ledger's, so
// a submit whose answer was lost to a kill is resolved after the restart
// by sending it again: the key returns the job if the first one was
// committed, and makes it if it was not.
type ledger struct {
	mu      sync.Mutex
	seq     int
	jobs    map[string]*sentJob // by key
	byID    map[string]*sentJob
	acked   []string              // ids, in acknowledgement order
	pending []*call               // submits whose outcome is unknown
	groups  map[string]*sentGroup // by name

	// What resolving the unknown submits found.
	unknownCalls, unknownCommitted, unknownLost int
	unknownBatches, batchesCommitted            int
}

type sentJob struct {
	key  string
	spec host.JobSpec
	id   string // "" until acknowledged
}

// call is one Submit or SubmitMany whose answer was lost.
type call struct {
	batch bool
	jobs  []*sentJob
}

type sentGroup struct {
	spec host.GroupSpec
	id   string // "" while unknown
	// unknown: CreateGroup was in flight when the daemon died; the group
	// may exist, and if it does, no job can be in it.
	unknown bool
}

func newLedger() *ledger {
	return &ledger{jobs: map[string]*sentJob{}, byID: map[string]*sentJob{}, groups: map[string]*sentGroup{}}
}

// send records specs as sent, giving each a key, and returns them.
func (l *ledger) send(specs ...host.JobSpec) []*sentJob {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*sentJob, len(specs))
	for i, s := range specs {
		l.seq++
		s.Key = fmt.Sprintf("torture-%06d", l.seq)
		out[i] = &sentJob{key: s.Key, spec: s}
		l.jobs[s.Key] = out[i]
	}
	return out
}

func (l *ledger) specs(jobs []*sentJob) []host.JobSpec {
	out := make([]host.JobSpec, len(jobs))
	for i, j := range jobs {
		out[i] = j.spec
	}
	return out
}

// ack records the ids the daemon answered for jobs.
func (l *ledger) ack(jobs []*sentJob, ids []string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(ids) != len(jobs) {
		return fmt.Errorf("sent %d jobs, got %d ids", len(jobs), len(ids))
	}
	for i, j := range jobs {
		if j.id != "" && j.id != ids[i] {
			return fmt.Errorf("key %s: acknowledged as %s, now as %s", j.key, j.id, ids[i])
		}
		if other := l.byID[ids[i]]; other != nil && other != j {
			return fmt.Errorf("id %s acknowledged for keys %s and %s", ids[i], other.key, j.key)
		}
		if j.id == "" {
			j.id = ids[i]
			l.byID[j.id] = j
			l.acked = append(l.acked, j.id)
		}
	}
	return nil
}

// unknown records a submit whose answer was lost.
func (l *ledger) unknown(jobs []*sentJob, batch bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, &call{batch: batch, jobs: jobs})
	l.unknownCalls++
}

// takePending returns the unknown submits and forgets them.
func (l *ledger) takePending() []*call {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pending
	l.pending = nil
	return p
}

// pick returns an acknowledged id, mostly a recent one (those are the
// ones running, paused or waiting).
func (l *ledger) pick(r *rand.Rand) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.acked)
	if n == 0 {
		return "", false
	}
	if r.IntN(4) > 0 && n > 40 {
		return l.acked[n-1-r.IntN(40)], true
	}
	return l.acked[r.IntN(n)], true
}

func (l *ledger) newGroup(spec host.GroupSpec) *sentGroup {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	spec.Name = fmt.Sprintf("torture-group-%06d", l.seq)
	g := &sentGroup{spec: spec}
	l.groups[spec.Name] = g
	return g
}

func (l *ledger) groupCreated(g *sentGroup, id string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		g.unknown = true
		return
	}
	g.id = id
}

// ackedIDs is a copy of every acknowledged id.
func (l *ledger) ackedIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.acked...)
}

// groupByID finds an acknowledged group; the caller holds l.mu.
func (l *ledger) groupByID(id string) *sentGroup {
	for _, g := range l.groups {
		if g.id != "" && g.id == id {
			return g
		}
	}
	return nil
}
