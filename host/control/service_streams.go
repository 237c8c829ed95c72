package control

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

// Watch subscribes before it answers: the response headers are the
// client's signal that every later event will reach it. A client that
// reads slowly holds the host's journal cursor, not events: when it falls
// too far behind it gets a lagged event and goes on.
func (s *service) Watch(r *pb.EventFilter, stream pb.Control_WatchServer) error {
	ctx := stream.Context()
	f := fromProtoFilter(r)
	if err := s.resolveFilter(ctx, &f); err != nil {
		return toStatus(err)
	}
	w, err := s.h.Watch(ctx, f)
	if err != nil {
		return toStatus(err)
	}
	defer w.Close()
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for {
		e, err := w.Next(ctx)
		if err != nil {
			return streamEnd(stream.Context().Err())
		}
		if err := stream.Send(toProtoEvent(&e)); err != nil {
			return err
		}
	}
}

// streamEnd is why a stream ended: its caller left, or the host closed.
func streamEnd(ctxErr error) error {
	if ctxErr != nil {
		return toStatus(ctxErr)
	}
	return toStatus(host.ErrClosed)
}

// Logs sends the job's stored records; with follow it then relays new
// records as the job logs them, and ends when the job is finished. It
// reads the log one record at a time: memory does not grow with the log.
//
// The host buffers a running attempt's log file and publishes each record
// as an event, so a follower watches first, then reads the file, then
// relays events it has not sent. Records written before the watch but not
// yet flushed reach neither; they are on disk once the job ends, so the
// follower then reads the file from where its first read stopped and
// sends what it missed (the same covers events lost by lagging behind).
// To send each record once it remembers the last recentLogs it sent; a
// follow that sees more records than that in one stretch may send a few
// twice, never lose one.
func (s *service) Logs(r *pb.LogsRequest, stream pb.Control_LogsServer) error {
	ctx := stream.Context()
	id, err := s.jobID(ctx, r.GetId())
	if err != nil {
		return toStatus(err)
	}
	var w *host.Watcher
	if r.GetFollow() {
		w, err = s.h.Watch(ctx, host.EventFilter{Jobs: []string{id}, Types: []host.EventType{host.EventJobLog, host.EventJobState}})
		if err != nil {
			return toStatus(err)
		}
		defer w.Close()
	}
	j, err := s.h.Get(ctx, id)
	if err != nil {
		return toStatus(err)
	}
	var sent *recentSet
	if w != nil {
		sent = newRecentSet(recentLogs)
	}
	send := func(rec host.LogRecord) error {
		if sent != nil && !sent.add(logHash(&rec)) {
			return nil
		}
		return stream.Send(toProtoLog(rec))
	}
	off, err := s.h.EachLog(ctx, id, 0, send)
	if err != nil || w == nil || j.Done() {
		return toStatus(err)
	}
	for {
		e, poll, err := s.nextOrPoll(ctx, w)
		if err != nil {
			return streamEnd(ctx.Err())
		}
		if poll {
			// A shared queue's job may run on another host: its records
			// and its end come through the database, so look there.
			if off, err = s.h.EachLog(ctx, id, off, send); err != nil {
				return toStatus(err)
			}
			if j, err := s.h.Get(ctx, id); err != nil || j.Done() {
				if err == nil {
					_, err = s.h.EachLog(ctx, id, off, send)
				}
				return toStatus(err)
			}
			continue
		}
		switch {
		case e.Type == host.EventJobLog && e.Log != nil:
			if err := send(*e.Log); err != nil {
				return err
			}
		case e.Type == host.EventJobState && e.State.Terminal():
			_, err := s.h.EachLog(ctx, id, off, send)
			return toStatus(err)
		}
	}
}

// followPoll is how often a follow on a shared queue looks in the
// database for records and the end of a job another host may run.
const followPoll = 250 * time.Millisecond

// nextOrPoll is w's next event; on a shared queue, poll (and no event)
// when followPoll passes without one, for the caller to look in the
// database.
func (s *service) nextOrPoll(ctx context.Context, w *host.Watcher) (e host.Event, poll bool, err error) {
	if !s.h.Shared() {
		e, err = w.Next(ctx)
		return e, false, err
	}
	pctx, cancel := context.WithTimeout(ctx, followPoll)
	defer cancel()
	e, err = w.Next(pctx)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return e, true, nil
	}
	return e, false, err
}

// recentLogs is how many sent records a follower remembers to send each
// once: 8 bytes each, plus the map's share.
const recentLogs = 1 << 14

// logHash identifies a log record by its time, attempt, level and
// message.
func logHash(r *host.LogRecord) uint64 {
	h := fnv.New64a()
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(r.Time.UnixNano()))
	binary.LittleEndian.PutUint32(b[8:], uint32(r.Attempt))
	h.Write(b[:])
	h.Write([]byte(r.Level))
	h.Write([]byte{0})
	h.Write([]byte(r.Message))
	return h.Sum64()
}

// recentSet remembers the last max keys added. It grows as keys come.
type recentSet struct {
	max  int
	keys map[uint64]struct{}
	ring []uint64
	next int
}

func newRecentSet(max int) *recentSet {
	return &recentSet{max: max, keys: map[uint64]struct{}{}}
}

// add records k and reports whether it was new.
func (s *recentSet) add(k uint64) bool {
	if _, ok := s.keys[k]; ok {
		return false
	}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, k)
	} else {
		delete(s.keys, s.ring[s.next])
		s.ring[s.next] = k
		s.next = (s.next + 1) % len(s.ring)
	}
	s.keys[k] = struct{}{}
	return true
}
