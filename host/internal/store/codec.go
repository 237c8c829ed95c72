package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// Records are JSON (the model's json tags), sealed with a checksum (see
// record.go); index keys are binary so that bbolt's byte order is the
// order the store needs.

// Bucket names. Changing any of them, or any key layout below, needs a new
// schema version and a migration.
var (
	bMeta      = []byte("meta")      // schemaKey, countsKey
	bJobs      = []byte("jobs")      // job id → job JSON
	bLive      = []byte("live")      // job id → state, for live jobs only
	bFinished  = []byte("finished")  // finishedKey(finished_at, id) → nil, terminal jobs only
	bKeys      = []byte("keys")      // idempotency key → job id
	bGroups    = []byte("groups")    // group id → group JSON
	bOpen      = []byte("open")      // group id → nil, for groups not done
	bMembers   = []byte("members")   // memberKey(group, pos) → job id
	bMemberOf  = []byte("member_of") // job id → memberKey, to drop a pruned member
	bEdges     = []byte("edges")     // edgeKey(dep, dependent) → policy
	bSchedules = []byte("schedules") // schedule id → schedule JSON
	allBuckets = [][]byte{bMeta, bJobs, bLive, bFinished, bKeys, bGroups, bOpen, bMembers, bMemberOf, bEdges, bSchedules}

	// addedBuckets were added to schema 1 after it first shipped; a file
	// without them gets them at open instead of being refused.
	addedBuckets = [][]byte{bSchedules}

	schemaKey = []byte("schema")
	countsKey = []byte("counts")
)

// sep separates the parts of composite keys. Ids never contain it (checked
// when a batch is built), so a prefix scan of "id\x00" finds exactly one id's
// entries.
const sep = 0

// finishedKey orders terminal jobs by finish time, then id. The time is
// nanoseconds since 1970 with the sign bit flipped so that big-endian byte
// order is numeric order for times before 1970 as well.
func finishedKey(t time.Time, id string) []byte {
	k := make([]byte, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano())^(1<<63))
	copy(k[8:], id)
	return k
}

// finishedKeyBound is the first finished key at or after t.
func finishedKeyBound(t time.Time) []byte { return finishedKey(t, "") }

func splitFinishedKey(k []byte) (time.Time, string) {
	if len(k) < 8 {
		return time.Time{}, ""
	}
	ns := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	return time.Unix(0, ns), string(k[8:])
}

func memberKey(group string, pos int) []byte {
	k := make([]byte, 0, len(group)+9)
	k = append(k, group...)
	k = append(k, sep)
	return binary.BigEndian.AppendUint64(k, uint64(pos))
}

// groupOfMemberKey returns the group id a member key belongs to.
func groupOfMemberKey(k []byte) string {
	if i := bytes.IndexByte(k, sep); i >= 0 {
		return string(k[:i])
	}
	return string(k)
}

func edgeKey(dep, dependent string) []byte {
	k := make([]byte, 0, len(dep)+1+len(dependent))
	k = append(k, dep...)
	k = append(k, sep)
	return append(k, dependent...)
}

// prefix is "id\x00": the start of every composite key of id.
func prefix(id string) []byte {
	return append([]byte(id), sep)
}

// encodeJob returns the sealed record of j (see seal), whose JSON is
// json.Marshal's (appendJobJSON makes the same bytes, faster).
func encodeJob(j *model.Job) ([]byte, error) {
	b := make([]byte, recordHeader, recordHeader+jobRecordGuess)
	b, ok := appendJobJSON(b, j)
	if !ok {
		payload, err := json.Marshal(j)
		if err != nil {
			return nil, fmt.Errorf("encode job %s: %w", j.ID, err)
		}
		b = append(b[:recordHeader], payload...)
	}
	sealInPlace([]byte(j.ID), b)
	return b, nil
}

// jobRecordGuess is room for a short job's record, so that most are
// encoded without growing the buffer.
const jobRecordGuess = 640

// decodeJob checks and decodes a job record; a record that fails either
// is an error matching ErrDamaged. It counts the decode so that tests can
// show that start-up reads only live records.
func (s *Store) decodeJob(id, b []byte) (*model.Job, error) {
	s.jobDecodes.Add(1)
	payload, problem := unseal(id, b)
	if problem != "" {
		return nil, s.damaged("job", id, problem, nil)
	}
	j := new(model.Job)
	if err := json.Unmarshal(payload, j); err != nil {
		return nil, s.damaged("job", id, problemUndecoded, err)
	}
	return j, nil
}

// withFinishedAt returns the encoded job data with FinishedAt set to t.
func (s *Store) withFinishedAt(id, data []byte, t time.Time) ([]byte, error) {
	j, err := s.decodeJob(id, data)
	if err != nil {
		return nil, err
	}
	j.FinishedAt = t
	return encodeJob(j)
}

// jobHead is the part of a stored job that index maintenance needs when the
// job is not in the live index. Decoding into it skips the big fields.
type jobHead struct {
	State      model.State    `json:"state"`
	Task       string         `json:"task"`
	Priority   model.Priority `json:"priority"`
	FinishedAt time.Time      `json:"finished_at"`
	Key        string         `json:"key"`
	Group      string         `json:"group"`
	DependsOn  []model.Dep    `json:"depends_on"`
}

func (s *Store) decodeHead(id, b []byte) (*jobHead, error) {
	payload, problem := unseal(id, b)
	if problem != "" {
		return nil, s.damaged("job", id, problem, nil)
	}
	h := new(jobHead)
	if err := json.Unmarshal(payload, h); err != nil {
		return nil, s.damaged("job", id, problemUndecoded, err)
	}
	return h, nil
}

func encodeSchedule(s *model.Schedule) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode schedule %s: %w", s.ID, err)
	}
	return seal([]byte(s.ID), b), nil
}

func (s *Store) decodeSchedule(id, b []byte) (*model.Schedule, error) {
	payload, problem := unseal(id, b)
	if problem != "" {
		return nil, s.damaged("schedule", id, problem, nil)
	}
	sc := new(model.Schedule)
	if err := json.Unmarshal(payload, sc); err != nil {
		return nil, s.damaged("schedule", id, problemUndecoded, err)
	}
	return sc, nil
}

func encodeGroup(g *model.Group) ([]byte, error) {
	b, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("encode group %s: %w", g.ID, err)
	}
	return seal([]byte(g.ID), b), nil
}

func (s *Store) decodeGroup(id, b []byte) (*model.Group, error) {
	payload, problem := unseal(id, b)
	if problem != "" {
		return nil, s.damaged("group", id, problem, nil)
	}
	g := new(model.Group)
	if err := json.Unmarshal(payload, g); err != nil {
		return nil, s.damaged("group", id, problemUndecoded, err)
	}
	if g.Counts == nil {
		g.Counts = map[model.State]int{}
	}
	return g, nil
}

// counts is the per-state job count record, indexed like model.States.
type counts [8]int64

func stateIndex(st model.State) int {
	for i, s := range model.States {
		if s == st {
			return i
		}
	}
	return -1
}

func (c *counts) add(st model.State, n int64) {
	if i := stateIndex(st); i >= 0 {
		c[i] += n
	}
}

func (c *counts) encode() []byte {
	b := make([]byte, 0, 8*len(c))
	for _, n := range c {
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return b
}

func decodeCounts(b []byte) (counts, error) {
	var c counts
	if b == nil {
		return c, nil
	}
	if len(b) != 8*len(c) {
		return c, fmt.Errorf("counts record has %d bytes, want %d", len(b), 8*len(c))
	}
	for i := range c {
		c[i] = int64(binary.BigEndian.Uint64(b[8*i:]))
	}
	return c, nil
}

func (c counts) toMap() map[model.State]int {
	m := make(map[model.State]int, len(c))
	for i, st := range model.States {
		m[st] = int(c[i])
	}
	return m
}
