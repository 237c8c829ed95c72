package host

import (
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
	"github.com/batchhost/batchhost/host/internal/store"
)

// jobStore is everything the engine asks of its persistence. The bbolt
// store is the embedded implementation; a networked one (PostgreSQL, for
// hosts sharing a queue) implements the same: apply a batch of changes
// durably, in order, calling back when they are on disk; load the
// unfinished jobs at start; answer point reads and paged lists; prune.
type jobStore interface {
	Submit(b *store.Batch)
	Load() (*store.Snapshot, error)
	Job(id string) (*model.Job, error)
	JobByKey(key string) (string, bool, error)
	ListJobs(f store.Filter) ([]*model.Job, string, error)
	Group(id string) (*model.Group, error)
	ListGroups(before string, limit int) ([]*model.Group, string, error)
	Members(groupID string) ([]string, error)
	Dependents(id string) ([]model.Dep, error)
	Counts() (map[model.State]int, error)
	Prune(before time.Time, limit int) ([]string, error)
	Close() error
}

var _ jobStore = (*store.Store)(nil)
