package queue

import "time"

// Oldest returns, for each level, the ready item that has waited longest:
// the one Pop would take first if no task were blocked. Delayed items due
// at now count as ready (they are promoted). ok[l] is false for a level
// without ready items. It costs O(log n) per stale entry it drops, like
// Pop, and nothing more.
func (q *Queue) Oldest(now time.Time) (items [Levels]Item, ok [Levels]bool) {
	q.promote(now)
	for l := range q.levels {
		lv := &q.levels[l]
		for lv.heads.Len() > 0 {
			f := lv.heads[0]
			if f.trim(q) {
				lv.refresh(f)
				continue
			}
			items[l], ok[l] = f.items[f.head].item, true
			break
		}
	}
	return items, ok
}
