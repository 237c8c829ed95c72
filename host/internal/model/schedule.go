package model

import (
	"encoding/json"
	"time"
)

// Overlap says what a schedule does when it is due while the job of its
// previous firing is still unfinished.
type Overlap string

// The overlap policies.
const (
	// OverlapSkip does not fire while the previous run is unfinished. The
	// default.
	OverlapSkip Overlap = "skip"
	// OverlapAllow fires regardless.
	OverlapAllow Overlap = "allow"
	// OverlapQueue fires a run that waits behind the unfinished one, at
	// most one: further firings are skipped while it waits.
	OverlapQueue Overlap = "queue"
)

// Missed says what a schedule does about firings due while the host was
// down.
type Missed string

// The missed-run policies.
const (
	// MissedSkip fires once if any firing was missed, then carries on. The
	// default.
	MissedSkip Missed = "skip"
	// MissedNone fires none of the missed ones.
	MissedNone Missed = "none"
)

// Schedule fires a job from its template at the times its spec names.
type Schedule struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Spec is a cron expression (5 fields, or 6 with seconds first) or a
	// descriptor (@every 15m, @hourly, @daily, ...).
	Spec string `json:"spec"`
	// TimeZone is an IANA zone name; "" is the host's local zone.
	TimeZone string      `json:"time_zone,omitempty"`
	Template JobTemplate `json:"template"`
	Overlap  Overlap     `json:"overlap"`
	Missed   Missed      `json:"missed"`
	// Jitter delays each run by a random amount up to this, to spread load.
	Jitter    time.Duration `json:"jitter,omitempty"`
	Paused    bool          `json:"paused,omitempty"`
	CreatedAt time.Time     `json:"created_at"`
	// NextFire is the nominal time of the next firing.
	NextFire time.Time `json:"next_fire,omitzero"`
	// LastFire is the nominal time of the last firing (fired or skipped).
	LastFire time.Time `json:"last_fire,omitzero"`
	// LastJob is the job of the last firing that made one.
	LastJob string `json:"last_job,omitempty"`
	// Waiting is the job queued behind an unfinished run (OverlapQueue).
	Waiting string `json:"waiting,omitempty"`
}

// JobTemplate is the job a schedule submits each time it fires.
type JobTemplate struct {
	Task         string            `json:"task"`
	Args         json.RawMessage   `json:"args,omitempty"`
	Priority     Priority          `json:"priority"`
	MaxAttempts  int               `json:"max_attempts,omitempty"`
	Backoff      *Backoff          `json:"backoff,omitempty"`
	Timeout      time.Duration     `json:"timeout,omitempty"`
	StallTimeout time.Duration     `json:"stall_timeout,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	// Group adds every run to this group.
	Group string `json:"group,omitempty"`
	// Resources is what every run needs, as the template declared it;
	// nil when it declared none: each run then gets its task's default
	// on the host that fires it, as a submitted job would.
	Resources *Resources `json:"resources,omitempty"`
}
