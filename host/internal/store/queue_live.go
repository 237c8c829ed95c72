package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// A live record is the compact entry of an unfinished job in the live
// index: what dispatch and start-up need without decoding the job's JSON.
// Its first byte is liveFormat, which no state name starts with, so the
// plain state names an older file holds there are told apart (and
// converted at open).
//
//	0      liveFormat
//	1      state (index in model.States)
//	2      priority (int8)
//	3      paused-from state (index, or 0xff)
//	4..11  ready time, Unix nanoseconds: max(queued at, run at)
//	12..19 ready sequence: the order the store made jobs ready
//	20..27 run at (not before), Unix nanoseconds, 0 for none
//	28..   task name
//
// A job that needs resources (model.Job.Resources) has liveNeedsFormat
// first instead, and its need before the task name: 28..31 thousandths
// of a CPU, 32..35 MiB; the task name at 36. Jobs that need none keep
// the first format, which builds older than resources read.
type liveRec struct {
	state      model.State
	priority   model.Priority
	pausedFrom model.State
	readyAt    int64
	seq        uint64
	runAt      int64
	need       model.Resources
	task       string
}

const (
	liveFormat      = 0xb1
	liveNeedsFormat = 0xb2
	liveHeader      = 28
	liveNeedsHeader = liveHeader + 8
	noStateByte     = 0xff
)

// compactLive reports whether a live index value is in a compact format.
func compactLive(v []byte) bool {
	return len(v) > 0 && (v[0] == liveFormat || v[0] == liveNeedsFormat)
}

func stateByte(s model.State) byte {
	for i, st := range model.States {
		if st == s {
			return byte(i)
		}
	}
	return noStateByte
}

func byteState(b byte) model.State {
	if int(b) < len(model.States) {
		return model.States[b]
	}
	return ""
}

func (r liveRec) encode() []byte {
	head := liveHeader
	if !r.need.IsZero() {
		head = liveNeedsHeader
	}
	b := make([]byte, head+len(r.task))
	b[0] = liveFormat
	if head == liveNeedsHeader {
		b[0] = liveNeedsFormat
		binary.BigEndian.PutUint32(b[28:], clampNeed(r.need.MilliCPU))
		binary.BigEndian.PutUint32(b[32:], clampNeed(r.need.MemoryMB))
	}
	b[1] = stateByte(r.state)
	b[2] = byte(r.priority)
	b[3] = stateByte(r.pausedFrom)
	binary.BigEndian.PutUint64(b[4:], uint64(r.readyAt))
	binary.BigEndian.PutUint64(b[12:], r.seq)
	binary.BigEndian.PutUint64(b[20:], uint64(r.runAt))
	copy(b[head:], r.task)
	return b
}

func decodeLive(b []byte) (liveRec, error) {
	head := liveHeader
	if len(b) > 0 && b[0] == liveNeedsFormat {
		head = liveNeedsHeader
	}
	if len(b) < head || !compactLive(b) {
		return liveRec{}, fmt.Errorf("live record of %d bytes is not in the compact format", len(b))
	}
	r := liveRec{
		state:      byteState(b[1]),
		priority:   model.Priority(int8(b[2])),
		pausedFrom: byteState(b[3]),
		readyAt:    int64(binary.BigEndian.Uint64(b[4:])),
		seq:        binary.BigEndian.Uint64(b[12:]),
		runAt:      int64(binary.BigEndian.Uint64(b[20:])),
		task:       string(b[head:]),
	}
	if head == liveNeedsHeader {
		r.need = model.Resources{MilliCPU: int64(binary.BigEndian.Uint32(b[28:])), MemoryMB: int64(binary.BigEndian.Uint32(b[32:]))}
	}
	if r.state == "" {
		return liveRec{}, fmt.Errorf("live record has unknown state %d", b[1])
	}
	return r, nil
}

// liveState is the state a live index value records, in either format
// (the compact one, or a plain state name written by schema 1).
func liveState(v []byte) model.State {
	if compactLive(v) {
		if len(v) > 1 {
			return byteState(v[1])
		}
		return ""
	}
	return model.State(v)
}

// readyTime is when a queued job became ready: max(queued at, run at).
func readyTime(j *model.Job) int64 {
	t := j.QueuedAt
	if j.RunAt.After(t) {
		t = j.RunAt
	}
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// liveOf builds the live record of an unfinished job.
func liveOf(j *model.Job, seq uint64) liveRec {
	return liveRec{state: j.State, priority: j.Priority, pausedFrom: j.PausedFrom,
		readyAt: readyTime(j), seq: seq, runAt: unixNano(j.RunAt), need: j.Resources, task: j.Task}
}

// countsP is the number of stored jobs by state and priority, kept in the
// meta bucket under countsPKey in the same transaction as the jobs.
type countsP [8][4]int64

var countsPKey = []byte("counts_p")

func (c *countsP) add(st model.State, p model.Priority, n int64) {
	si, pi := stateIndex(st), p.Index()
	if si < 0 || pi < 0 || pi >= 4 {
		return
	}
	c[si][pi] += n
}

func (c *countsP) encode() []byte {
	b := make([]byte, 0, 8*4*8)
	for _, row := range c {
		for _, n := range row {
			b = binary.BigEndian.AppendUint64(b, uint64(n))
		}
	}
	return b
}

func decodeCountsP(b []byte) (countsP, bool) {
	var c countsP
	if len(b) != 8*4*8 {
		return c, false
	}
	for i := range c {
		for k := range c[i] {
			c[i][k] = int64(binary.BigEndian.Uint64(b[(i*4+k)*8:]))
		}
	}
	return c, true
}

func nanoTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// entryOf is the ready-index entry of a queued job; the caller holds
// x.mu.
func (x *readyIndex) entryOf(j *model.Job, seq uint64) readyEntry {
	return x.entry(j.ID, j.Task, j.Priority, readyTime(j), unixNano(j.RunAt), seq, j.Resources)
}
