package host

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/batchhost/batchhost/host/internal/jsonshape"
	"github.com/batchhost/batchhost/host/internal/model"
)

// JobSpec describes a job to create. Only Task is required.
type JobSpec struct {
	// Task is "<plugin>.<task>", e.g. "docs.analyze".
	Task string
	// Args are the task's arguments: a json.RawMessage or []byte holding
	// JSON, or any value encoding/json can marshal. nil means none.
	Args any
	// Priority defaults to PriorityNormal.
	Priority Priority
	// MaxAttempts is the automatic attempt budget. 0 means the host
	// default (3).
	MaxAttempts int
	// Backoff is the delay between attempts. nil means the host default.
	Backoff *Backoff
	// Timeout bounds one attempt; the host cancels it, then kills the
	// plugin after the grace period. 0 means the host default (none).
	Timeout time.Duration
	// StallTimeout fails an attempt (kind stalled) when its plugin sends no
	// progress, log or heartbeat for this long. 0 means none.
	StallTimeout time.Duration
	// RunAt delays the first attempt until then. Delay is the same, relative
	// to now; set one or neither.
	RunAt time.Time
	Delay time.Duration
	// Key is an idempotency key: while a job with the same key is kept
	// (until it is pruned), submitting again returns that job's id instead
	// of creating another.
	Key string
	// Labels are free-form metadata, kept with the job.
	Labels map[string]string
	// DependsOn lists jobs this one waits for. See After and Dep.
	DependsOn []Dep
	// Group adds the job to an existing group, as AddToGroup does.
	Group string
	// Resources is what the job needs while it runs: the host starts it
	// only while its running jobs leave room for it (see Resources). nil
	// means the task's default (Config.TaskResources), else nothing. A
	// need beyond the host's capacity is refused (ErrInvalid).
	Resources *Resources
}

// Backoff is a retry delay policy: Initial, multiplied by Multiplier for
// every further attempt, capped at Max, spread by ±Jitter (a fraction of
// the delay, 0..1).
type Backoff struct {
	Initial    time.Duration
	Multiplier float64
	Max        time.Duration
	Jitter     float64
}

func (b Backoff) validate(what string) error {
	switch {
	case b.Initial < 0 || b.Max < 0:
		return invalidf("%s: durations must not be negative", what)
	case b.Multiplier < 0 || math.IsNaN(b.Multiplier) || math.IsInf(b.Multiplier, 0):
		return invalidf("%s: multiplier must be a non-negative number", what)
	case b.Jitter < 0 || b.Jitter > 1 || math.IsNaN(b.Jitter):
		return invalidf("%s: jitter must be between 0 and 1", what)
	case b.Initial > maxDuration || b.Max > maxDuration:
		return invalidf("%s: durations are absurd beyond 10 years", what)
	case b.Max > 0 && b.Initial > b.Max:
		return invalidf("%s: initial %s exceeds max %s", what, b.Initial, b.Max)
	}
	return nil
}

// DepPolicy says what happens to a job when a dependency ends failed or
// canceled.
type DepPolicy = model.DepPolicy

// The dependency policies.
const (
	// DepCancel cancels the dependent, transitively, with kind
	// dependency_failed. The default.
	DepCancel = model.DepCancel
	// DepIgnore runs the dependent once the dependency is finished,
	// whatever its outcome.
	DepIgnore = model.DepIgnore
)

// Dep is one dependency: the job waits for Job to finish.
type Dep struct {
	Job    string    `json:"id"`
	Policy DepPolicy `json:"policy,omitempty"`
}

// resolve checks d's policy and returns the engine's edge for it.
func (d Dep) resolve() (model.Dep, error) {
	p, err := d.Policy.Resolve()
	if err != nil {
		return model.Dep{}, invalidf("dependency %s: %v", d.Job, err)
	}
	return model.Dep{ID: d.Job, Policy: p}, nil
}

// After returns dependencies on ids with the default (cancel) policy.
func After(ids ...string) []Dep {
	out := make([]Dep, len(ids))
	for i, id := range ids {
		out[i] = Dep{Job: id}
	}
	return out
}

// GroupSpec describes a job group.
type GroupSpec struct {
	Name string
	// Sequential runs members one after another in the order they were
	// added: each implicitly depends on the previous one (cancel policy).
	Sequential bool
	// CancelOnFailure cancels every unfinished member, running ones
	// included, when a member ends failed.
	CancelOnFailure bool
}

// maxLabels bounds a job's labels: they are kept in memory with every
// unfinished job.
const maxLabels = 64

// maxLabelValue bounds a label's value, for the same reason.
const maxLabelValue = 4096

// maxDuration bounds user-given durations; anything longer is a mistake.
const maxDuration = 10 * 365 * 24 * time.Hour

// buildJob validates spec and turns it into a new job record (state
// created) at time now. It checks everything that does not need the
// engine's state; the engine checks task, dependencies and group.
func (c *Config) buildJob(spec JobSpec, id string, now time.Time) (*model.Job, error) {
	task := strings.TrimSpace(spec.Task)
	if err := model.CheckName("task", task); err != nil {
		return nil, invalid(err)
	}
	if !strings.Contains(task, ".") {
		return nil, invalidf("task %q must be <plugin>.<task>", spec.Task)
	}
	args, err := encodeArgs(spec.Args, c.MaxArgsBytes)
	if err != nil {
		return nil, err
	}
	if !spec.Priority.Valid() {
		return nil, invalidf("invalid priority %d (want low, normal, high or critical)", int8(spec.Priority))
	}
	if spec.MaxAttempts < 0 {
		return nil, invalidf("max attempts must not be negative (got %d)", spec.MaxAttempts)
	}
	if spec.MaxAttempts > 1000 {
		return nil, invalidf("max attempts %d is absurd (at most 1000)", spec.MaxAttempts)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"timeout", spec.Timeout}, {"stall timeout", spec.StallTimeout}, {"delay", spec.Delay}} {
		if d.v < 0 {
			return nil, invalidf("%s must not be negative (got %s)", d.name, d.v)
		}
		if d.v > maxDuration {
			return nil, invalidf("%s %s is absurd (at most 10 years)", d.name, d.v)
		}
	}
	if spec.Delay > 0 && !spec.RunAt.IsZero() {
		return nil, invalidf("set run-at or delay, not both")
	}
	// A run-at far from now is a mistake, and one outside years 0-9999
	// could not even be stored.
	if !spec.RunAt.IsZero() && (spec.RunAt.Before(now.Add(-maxDuration)) || spec.RunAt.After(now.Add(maxDuration))) {
		return nil, invalidf("run-at %s is absurd (at most 10 years from now)", spec.RunAt.UTC().Format(time.RFC3339))
	}
	if len(spec.Key) > 1024 {
		return nil, invalidf("idempotency key is longer than 1024 bytes")
	}
	if !utf8.ValidString(spec.Key) {
		return nil, invalidf("idempotency key is not valid UTF-8")
	}
	if model.HasNUL(spec.Key) {
		return nil, invalidf("idempotency key holds a NUL character")
	}
	if len(spec.Labels) > maxLabels {
		return nil, invalidf("%d labels, at most %d", len(spec.Labels), maxLabels)
	}
	for k, v := range spec.Labels {
		if err := model.CheckName("label name", k); err != nil {
			return nil, invalid(err)
		}
		if strings.HasPrefix(k, reservedLabelPrefix) {
			return nil, invalidf("label %.40q: names starting with %q are the host's", k, reservedLabelPrefix)
		}
		if !utf8.ValidString(v) {
			return nil, invalidf("label %.40q: value is not valid UTF-8", k)
		}
		if model.HasNUL(v) {
			return nil, invalidf("label %.40q: value holds a NUL character", k)
		}
		if len(v) > maxLabelValue {
			return nil, invalidf("label %.40q: value is longer than %d bytes", k, maxLabelValue)
		}
	}
	need, err := c.needOf(task, spec.Resources)
	if err != nil {
		return nil, err
	}
	j := &model.Job{
		ID:           id,
		Resources:    need,
		Task:         task,
		Args:         args,
		Priority:     spec.Priority,
		State:        model.Created,
		Key:          spec.Key,
		MaxAttempts:  spec.MaxAttempts,
		Timeout:      spec.Timeout,
		StallTimeout: spec.StallTimeout,
		RunAt:        spec.RunAt.UTC(),
		CreatedAt:    now,
		Group:        spec.Group,
	}
	if len(spec.Labels) > 0 {
		j.Labels = make(map[string]string, len(spec.Labels))
		for k, v := range spec.Labels {
			j.Labels[k] = v
		}
	}
	if spec.Delay > 0 {
		j.RunAt = now.Add(spec.Delay)
	}
	if j.MaxAttempts == 0 {
		j.MaxAttempts = c.DefaultMaxAttempts
	}
	if j.Timeout == 0 {
		j.Timeout = c.DefaultTimeout
	}
	b := *c.DefaultBackoff
	if spec.Backoff != nil {
		if err := spec.Backoff.validate("backoff"); err != nil {
			return nil, err
		}
		b = *spec.Backoff
	}
	j.Backoff = model.Backoff{Initial: b.Initial, Max: b.Max, Multiplier: b.Multiplier, Jitter: b.Jitter}
	seen := map[string]bool{}
	for _, d := range spec.DependsOn {
		if d.Job == "" {
			return nil, invalidf("dependency with an empty job id")
		}
		if d.Job == id {
			return nil, invalidf("job cannot depend on itself")
		}
		if seen[d.Job] {
			return nil, invalidf("dependency %s listed twice", d.Job)
		}
		seen[d.Job] = true
		md, err := d.resolve()
		if err != nil {
			return nil, err
		}
		j.DependsOn = append(j.DependsOn, md)
	}
	return j, nil
}

// encodeArgs turns a spec's Args into compact JSON within the size cap.
func encodeArgs(args any, maxBytes int) (json.RawMessage, error) {
	var raw []byte
	switch a := args.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		raw = a
	case []byte:
		raw = a
	default:
		b, err := json.Marshal(a)
		if err != nil {
			return nil, invalidf("args cannot be encoded as JSON: %v", err)
		}
		raw = b
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	if len(raw) > maxBytes {
		return nil, invalidf("args are %d bytes, over the %d byte limit", len(raw), maxBytes)
	}
	if !json.Valid(raw) {
		return nil, invalidf("args are not valid JSON: %s", jsonProblem(raw))
	}
	if err := jsonshape.Check(raw); err != nil {
		return nil, invalidf("args are %v", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, invalidf("args are not valid JSON: %v", err)
	}
	return buf.Bytes(), nil
}

// jsonProblem describes where JSON is broken, for a one-line message.
func jsonProblem(raw []byte) string {
	var v any
	err := json.Unmarshal(raw, &v)
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	if err != nil {
		return err.Error()
	}
	return "invalid"
}
