package store

import "github.com/batchhost/batchhost/host/internal/model"

// recordCache holds the records of queued jobs as last decided, up to a
// bound, so that claiming a job soon after it was queued (the common
// case: submitted, then run) does not decode its record again. Only the
// writer goroutine uses it. Every transaction, once decided, updates the
// records it changed: a queued job's is put (while there is room), any
// other's is dropped, so a cached record is never older than the file.
// Records in it are never changed: they are the decided transactions'
// own, which nothing changes once decided; users clone them.
type recordCache struct {
	m map[string]*model.Job
}

// maxCachedRecords bounds the cache: a few megabytes of records.
const maxCachedRecords = 16 << 10

func (c *recordCache) get(id string) *model.Job {
	if j := c.m[id]; j != nil {
		return j.Clone()
	}
	return nil
}

// peek returns the cached record itself, for reading only.
func (c *recordCache) peek(id string) *model.Job { return c.m[id] }

// update takes in the records a decided transaction changed.
func (c *recordCache) update(w *wtx) {
	for _, e := range w.order {
		id := e.j.ID
		if e.j.State == model.Queued {
			if _, ok := c.m[id]; ok || len(c.m) < maxCachedRecords {
				if c.m == nil {
					c.m = map[string]*model.Job{}
				}
				c.m[id] = e.j
			}
			continue
		}
		delete(c.m, id)
	}
}
