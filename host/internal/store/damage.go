package store

import (
	"errors"
	"sync"
)

// damageLog remembers the damaged records the store met, so that each is
// logged once per open, not at every list that passes over it.
type damageLog struct {
	mu   sync.Mutex
	seen map[string]bool // kind + " " + id
}

// skipDamaged reports whether err says a record is damaged; if so it logs
// the record (once) as left aside, so that the caller can go on without
// it. Any other error is the caller's to return.
func (s *Store) skipDamaged(kind string, id []byte, err error) bool {
	if !errors.Is(err, ErrDamaged) {
		return false
	}
	s.noteDamaged(kind, string(id), err)
	return true
}

// noteDamaged logs a damaged record the first time it is met.
func (s *Store) noteDamaged(kind, id string, err error) {
	d := &s.damage
	d.mu.Lock()
	first := !d.seen[kind+" "+id]
	if first {
		if d.seen == nil {
			d.seen = map[string]bool{}
		}
		d.seen[kind+" "+id] = true
	}
	d.mu.Unlock()
	if first {
		s.log.Warn("damaged record left aside: not listed, run or changed; `batchhost check` lists every damaged record",
			kind, id, "error", err)
	}
}
