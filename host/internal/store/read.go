package store

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/batchhost/batchhost/host/internal/model"
)

// List limits.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// Snapshot is what the engine needs at start-up.
type Snapshot struct {
	// Jobs holds every live job (created, queued, waiting, running,
	// paused), in id (creation) order.
	Jobs []*model.Job
	// Groups holds every group that is not done or has a live member.
	Groups []*model.Group
	// Schedules holds every schedule (there are few; they are all live).
	Schedules []*model.Schedule
	// Schema is the data file's schema version.
	Schema int
}

// Load reads what start-up needs: the live jobs and the open groups. It
// reads the live and open-groups indexes and the records they name, never
// the finished jobs, so its cost follows the live work, not the history.
func (s *Store) Load() (*Snapshot, error) {
	snap := &Snapshot{Schema: SchemaVersion}
	err := s.view(func(tx *bolt.Tx) error {
		bk := openBuckets(tx)
		if err := bk.schedules.ForEach(func(k, v []byte) error {
			sc, err := s.decodeSchedule(k, v)
			if err == nil {
				snap.Schedules = append(snap.Schedules, sc)
			}
			return err
		}); err != nil {
			return err
		}
		groupsOfLive := map[string]bool{}
		c := bk.live.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			data := bk.jobs.Get(k)
			if data == nil {
				return newError(ErrCorrupt, nil, fmt.Sprintf("data file %s: live index names job %s, which has no record", s.path, k))
			}
			j, err := s.decodeJob(k, data)
			if err != nil {
				return err
			}
			snap.Jobs = append(snap.Jobs, j)
			if j.Group != "" {
				groupsOfLive[j.Group] = true
			}
		}
		seen := map[string]bool{}
		load := func(id []byte) error {
			data := bk.groups.Get(id)
			if data == nil {
				return newError(ErrCorrupt, nil, fmt.Sprintf("data file %s: group %s is referenced but has no record", s.path, id))
			}
			g, err := s.decodeGroup(id, data)
			if err != nil {
				return err
			}
			seen[g.ID] = true
			snap.Groups = append(snap.Groups, g)
			return nil
		}
		c = bk.open.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if err := load(k); err != nil {
				return err
			}
		}
		// A live member in a group recorded as done means the group record
		// lags; the engine still needs it.
		for _, id := range slices.Sorted(maps.Keys(groupsOfLive)) {
			if !seen[id] && bk.groups.Get([]byte(id)) != nil {
				if err := load([]byte(id)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return snap, nil
}

// Job returns the stored job id, or an error matching ErrNotFound.
func (s *Store) Job(id string) (*model.Job, error) {
	var j *model.Job
	err := s.view(func(tx *bolt.Tx) error {
		data := tx.Bucket(bJobs).Get([]byte(id))
		if data == nil {
			return notFound("job", id)
		}
		var err error
		j, err = s.decodeJob([]byte(id), data)
		return err
	})
	return j, err
}

// JobByKey returns the id of the stored job holding idempotency key key.
// A key is held from the first put of a job carrying it until that job is
// pruned.
func (s *Store) JobByKey(key string) (string, bool, error) {
	if key == "" {
		return "", false, nil
	}
	var id string
	err := s.view(func(tx *bolt.Tx) error {
		id = string(tx.Bucket(bKeys).Get([]byte(key)))
		return nil
	})
	return id, id != "", err
}

// Filter selects jobs for ListJobs. Zero fields select everything.
type Filter struct {
	States []model.State // any of these states
	Task   string        // exactly this task name
	Group  string        // members of this group
	// Priorities selects jobs of any of these priorities.
	Priorities []model.Priority
	// Label is "key=value" (that label with that value) or "key" (that
	// label with any value).
	Label string
	// Search selects jobs whose id, task or error message contains it,
	// ignoring case.
	Search string
	// Before is the paging cursor: only ids less than it (so older jobs).
	// Pass the cursor the previous page returned.
	Before string
	// Limit is the page size. Defaults to DefaultLimit; at most MaxLimit.
	Limit int
}

// ListJobs returns the jobs matching f, newest (highest id) first, and the
// cursor for the next page ("" when there is none). Members of a group are
// read through the membership index, live-only state filters through the
// live index; anything else scans the jobs newest first. A damaged record
// is left out (and logged once): one bad record does not hide the others.
func (s *Store) ListJobs(f Filter) ([]*model.Job, string, error) {
	limit, err := checkLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	want := map[model.State]bool{}
	liveOnly, terminalOnly := len(f.States) > 0, len(f.States) > 0
	for _, st := range f.States {
		if stateIndex(st) < 0 {
			return nil, "", newError(ErrInvalid, nil, fmt.Sprintf("list jobs: unknown state %q", st))
		}
		want[st] = true
		liveOnly = liveOnly && st.Live()
		terminalOnly = terminalOnly && st.Terminal()
	}

	match, err := f.matcher()
	if err != nil {
		return nil, "", err
	}

	var out []*model.Job
	err = s.view(func(tx *bolt.Tx) error {
		bk := openBuckets(tx)
		// visit decodes and filters one job; it reports whether the page
		// (plus one, to know whether another page exists) is full.
		visit := func(id []byte) (bool, error) {
			if len(want) > 0 {
				st := bk.live.Get(id)
				if (liveOnly && st == nil) || (terminalOnly && st != nil) ||
					(st != nil && !want[liveState(st)]) {
					return false, nil
				}
			}
			data := bk.jobs.Get(id)
			if data == nil {
				return false, nil // a member whose record was pruned
			}
			j, err := s.decodeJob(id, data)
			if s.skipDamaged("job", id, err) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			if (len(want) > 0 && !want[j.State]) || !match(j) {
				return false, nil
			}
			out = append(out, j)
			return len(out) > limit, nil
		}

		switch {
		case f.Group != "":
			if bk.groups.Get([]byte(f.Group)) == nil {
				return notFound("group", f.Group)
			}
			// Membership is in add order; pages are in id order like every
			// other listing, so sort the (small, key-only) member list.
			ids := memberIDs(bk.members, f.Group)
			slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) })
			for _, id := range ids {
				if f.Before != "" && id >= f.Before {
					continue
				}
				if full, err := visit([]byte(id)); err != nil || full {
					return err
				}
			}
		case liveOnly:
			c := bk.live.Cursor()
			for k, v := seekBefore(c, f.Before); k != nil; k, v = c.Prev() {
				if !want[liveState(v)] {
					continue
				}
				if full, err := visit(k); err != nil || full {
					return err
				}
			}
		default:
			c := bk.jobs.Cursor()
			for k, _ := seekBefore(c, f.Before); k != nil; k, _ = c.Prev() {
				if full, err := visit(k); err != nil || full {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	var next string
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// matcher checks f's record filters (task, priorities, label, search) and
// returns the test the visit loop applies to every decoded job, so that
// these filters page exactly like the state and group ones.
func (f Filter) matcher() (func(*model.Job) bool, error) {
	var prios [4]bool
	for _, p := range f.Priorities {
		if !p.Valid() {
			return nil, newError(ErrInvalid, nil, fmt.Sprintf("list jobs: unknown priority %d", p))
		}
		prios[p.Index()] = true
	}
	labelKey, labelVal, withVal := strings.Cut(f.Label, "=")
	if f.Label != "" && labelKey == "" {
		return nil, newError(ErrInvalid, nil, fmt.Sprintf("list jobs: label filter %q has no key (want key=value or key)", f.Label))
	}
	search := strings.ToLower(f.Search)
	return func(j *model.Job) bool {
		if f.Task != "" && j.Task != f.Task {
			return false
		}
		if len(f.Priorities) > 0 && (!j.Priority.Valid() || !prios[j.Priority.Index()]) {
			return false
		}
		if f.Label != "" {
			v, ok := j.Labels[labelKey]
			if !ok || (withVal && v != labelVal) {
				return false
			}
		}
		if search != "" && !containsFold(j.ID, search) && !containsFold(j.Task, search) &&
			(j.Error == nil || !containsFold(j.Error.Message, search)) {
			return false
		}
		return true
	}, nil
}

// containsFold reports whether s contains lower, which is already lower
// case, ignoring the case of s.
func containsFold(s, lower string) bool {
	return strings.Contains(strings.ToLower(s), lower)
}

// Group returns the stored group id, or an error matching ErrNotFound.
func (s *Store) Group(id string) (*model.Group, error) {
	var g *model.Group
	err := s.view(func(tx *bolt.Tx) error {
		data := tx.Bucket(bGroups).Get([]byte(id))
		if data == nil {
			return notFound("group", id)
		}
		var err error
		g, err = s.decodeGroup([]byte(id), data)
		return err
	})
	return g, err
}

// ListGroups returns groups newest first, starting below the cursor before
// (ids less than it), and the cursor of the next page ("" when there is
// none); damaged records are left out, as in ListJobs. limit 0 means
// DefaultLimit.
func (s *Store) ListGroups(before string, limit int) ([]*model.Group, string, error) {
	limit, err := checkLimit(limit)
	if err != nil {
		return nil, "", err
	}
	var out []*model.Group
	err = s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bGroups).Cursor()
		for k, v := seekBefore(c, before); k != nil && len(out) <= limit; k, v = c.Prev() {
			g, err := s.decodeGroup(k, v)
			if s.skipDamaged("group", k, err) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list groups: %w", err)
	}
	var next string
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// Members returns the ids of groupID's members in add order. Pruned members
// are no longer listed.
func (s *Store) Members(groupID string) ([]string, error) {
	var ids []string
	err := s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bGroups).Get([]byte(groupID)) == nil {
			return notFound("group", groupID)
		}
		ids = memberIDs(tx.Bucket(bMembers), groupID)
		return nil
	})
	return ids, err
}

// Dependents returns the jobs that depend on depID, with their edge
// policies, in dependent id order. A job nobody depends on has none; that
// is not an error.
func (s *Store) Dependents(depID string) ([]model.Dep, error) {
	var deps []model.Dep
	err := s.view(func(tx *bolt.Tx) error {
		p := prefix(depID)
		c := tx.Bucket(bEdges).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			deps = append(deps, model.Dep{ID: string(k[len(p):]), Policy: model.DepPolicy(v)})
		}
		return nil
	})
	return deps, err
}

// Counts returns the number of stored jobs in each state (every state is
// present, most with 0). It reads one small record, not the jobs.
func (s *Store) Counts() (map[model.State]int, error) {
	var c counts
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		c, err = decodeCounts(tx.Bucket(bMeta).Get(countsKey))
		if err != nil {
			return newError(ErrCorrupt, err, fmt.Sprintf("data file %s: %v", s.path, err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.toMap(), nil
}

func memberIDs(members *bolt.Bucket, group string) []string {
	var ids []string
	p := prefix(group)
	c := members.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		ids = append(ids, string(v))
	}
	return ids
}

// seekBefore positions c on the last key less than before (the last key of
// all when before is ""), for scanning newest first.
func seekBefore(c *bolt.Cursor, before string) ([]byte, []byte) {
	if before == "" {
		return c.Last()
	}
	if k, _ := c.Seek([]byte(before)); k == nil {
		return c.Last()
	}
	return c.Prev()
}

func checkLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultLimit, nil
	case limit < 0:
		return 0, newError(ErrInvalid, nil, fmt.Sprintf("negative limit %d", limit))
	case limit > MaxLimit:
		return 0, newError(ErrInvalid, nil, fmt.Sprintf("limit %d is above the maximum %d", limit, MaxLimit))
	}
	return limit, nil
}
