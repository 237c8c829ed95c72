package store

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// Limits on what a batch may carry, checked when the batch is built so that
// a bad record fails its own batch instead of the shared transaction (which
// would fail the whole store). bbolt's own key limit is 32 KiB.
const (
	maxIDLen  = 256
	maxKeyLen = 4096
)

// Batch is a set of writes made durable together, with the callbacks to run
// once they are. The engine builds it on one goroutine and hands it over
// whole with [Store.Submit]; after that the batch belongs to the store and
// must not be touched.
//
// Records are encoded when they are added, so the caller may go on mutating
// them. A record that cannot be encoded or has an invalid id fails the
// whole batch: [Batch.Err] reports it at once and the callbacks receive it.
type Batch struct {
	jobs      []jobPut
	groups    []groupPut
	members   []memberPut
	edges     []edgePut
	schedules []schedulePut
	callbacks []func(error)
	err       error
	size      int // bytes of encoded records, for backpressure
}

type jobPut struct {
	id       string
	key      string
	state    model.State
	finished time.Time
	data     []byte
}

// schedulePut writes (data != nil) or deletes (data == nil) a schedule.
type schedulePut struct {
	id   string
	data []byte
}

type groupPut struct {
	id   string
	done bool
	data []byte
}

type memberPut struct {
	group string
	pos   int
	job   string
}

type edgePut struct {
	dep, dependent string
	policy         model.DepPolicy
}

// NewBatch returns an empty batch.
func NewBatch() *Batch { return &Batch{} }

// PutJob stores j (replacing any earlier version), encoding it now. The
// indexes follow the job's state: live jobs are in the live index, terminal
// ones in the finished index by FinishedAt, and a Key is claimed the first
// time a job carrying it is put.
func (b *Batch) PutJob(j *model.Job) {
	if j == nil {
		b.fail(errors.New("put job: nil job"))
		return
	}
	if err := checkID("job", j.ID); err != nil {
		b.fail(err)
		return
	}
	switch {
	case j.State == "":
		b.fail(fmt.Errorf("put job %s: empty state", j.ID))
		return
	case stateIndex(j.State) < 0:
		b.fail(fmt.Errorf("put job %s: unknown state %q", j.ID, j.State))
		return
	case len(j.Key) > maxKeyLen:
		b.fail(fmt.Errorf("put job %s: idempotency key is %d bytes, the limit is %d", j.ID, len(j.Key), maxKeyLen))
		return
	}
	data, err := encodeJob(j)
	if err != nil {
		b.fail(err)
		return
	}
	b.jobs = append(b.jobs, jobPut{id: j.ID, key: j.Key, state: j.State, finished: j.FinishedAt, data: data})
	b.size += len(data)
}

// PutGroup stores g (replacing any earlier version), encoding it now. A
// group that is not done is in the open-groups index that start-up reads.
func (b *Batch) PutGroup(g *model.Group) {
	if g == nil {
		b.fail(errors.New("put group: nil group"))
		return
	}
	if err := checkID("group", g.ID); err != nil {
		b.fail(err)
		return
	}
	data, err := encodeGroup(g)
	if err != nil {
		b.fail(err)
		return
	}
	b.groups = append(b.groups, groupPut{id: g.ID, done: g.Done(), data: data})
	b.size += len(data)
}

// AddMember records jobID as the member at position pos of groupID.
// [Store.Members] lists members by position, which the engine assigns in
// add order (Group.Size before the add).
func (b *Batch) AddMember(groupID string, pos int, jobID string) {
	if err := checkID("group", groupID); err != nil {
		b.fail(err)
		return
	}
	if err := checkID("job", jobID); err != nil {
		b.fail(err)
		return
	}
	if pos < 0 {
		b.fail(fmt.Errorf("add member %s to group %s: negative position %d", jobID, groupID, pos))
		return
	}
	b.members = append(b.members, memberPut{group: groupID, pos: pos, job: jobID})
	b.size += len(groupID) + len(jobID)
}

// AddEdge records that dependentID depends on depID with the given policy.
// This is the reverse edge the engine follows when depID finishes; the
// forward edge lives in the dependent's record (Job.DependsOn).
func (b *Batch) AddEdge(depID, dependentID string, policy model.DepPolicy) {
	if err := checkID("job", depID); err != nil {
		b.fail(err)
		return
	}
	if err := checkID("job", dependentID); err != nil {
		b.fail(err)
		return
	}
	policy, err := policy.Resolve()
	if err != nil {
		b.fail(fmt.Errorf("add edge %s -> %s: %w", depID, dependentID, err))
		return
	}
	b.edges = append(b.edges, edgePut{dep: depID, dependent: dependentID, policy: policy})
	b.size += len(depID) + len(dependentID)
}

// OnCommit adds fn to the callbacks run once the batch is durable (err nil)
// or has failed. Callbacks of all batches run in Submit order on the store's
// writer goroutine, so they must return quickly and must not block.
func (b *Batch) OnCommit(fn func(err error)) {
	if fn != nil {
		b.callbacks = append(b.callbacks, fn)
	}
}

// Empty reports whether the batch carries no writes (it may still carry
// callbacks). A batch whose only write was refused is not empty: it has
// an error to report.
func (b *Batch) Empty() bool {
	return b.err == nil && len(b.jobs) == 0 && len(b.groups) == 0 && len(b.members) == 0 && len(b.edges) == 0 && len(b.schedules) == 0
}

// PutSchedule writes a schedule record (encoded now).
func (b *Batch) PutSchedule(sc *model.Schedule) {
	if sc == nil {
		b.fail(errors.New("put schedule: nil schedule"))
		return
	}
	if err := checkID("schedule", sc.ID); err != nil {
		b.fail(err)
		return
	}
	data, err := encodeSchedule(sc)
	if err != nil {
		b.fail(err)
		return
	}
	b.schedules = append(b.schedules, schedulePut{id: sc.ID, data: data})
	b.size += len(data)
}

// DeleteSchedule removes a schedule record; the jobs it fired stay.
func (b *Batch) DeleteSchedule(id string) {
	if err := checkID("schedule", id); err != nil {
		b.fail(err)
		return
	}
	b.schedules = append(b.schedules, schedulePut{id: id})
}

// Err reports the first write the batch refused (an invalid id, a record
// that does not encode). Such a batch is never applied.
func (b *Batch) Err() error { return b.err }

func (b *Batch) fail(err error) {
	if b.err == nil {
		b.err = newError(ErrInvalid, err, "batch refused: "+err.Error())
	}
}

// checkID refuses ids the key layouts cannot hold: empty, oversized, or
// containing the separator byte.
func checkID(what, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("empty %s id", what)
	case len(id) > maxIDLen:
		return fmt.Errorf("%s id of %d bytes, the limit is %d", what, len(id), maxIDLen)
	case strings.IndexByte(id, sep) >= 0:
		return fmt.Errorf("%s id %q contains a NUL byte", what, id)
	}
	return nil
}
