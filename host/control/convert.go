package control

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

// This file is the one place where host types and wire messages meet:
// toProto* for what leaves a process, fromProto* for what enters one. The
// server and the client both use it, so a field added here reaches both.

var stateToProto = map[host.State]pb.JobState{
	host.StateCreated:   pb.JobState_JOB_STATE_CREATED,
	host.StateQueued:    pb.JobState_JOB_STATE_QUEUED,
	host.StateWaiting:   pb.JobState_JOB_STATE_WAITING,
	host.StateRunning:   pb.JobState_JOB_STATE_RUNNING,
	host.StatePaused:    pb.JobState_JOB_STATE_PAUSED,
	host.StateCompleted: pb.JobState_JOB_STATE_COMPLETED,
	host.StateFailed:    pb.JobState_JOB_STATE_FAILED,
	host.StateCanceled:  pb.JobState_JOB_STATE_CANCELED,
}

var stateFromProto = func() map[pb.JobState]host.State {
	m := make(map[pb.JobState]host.State, len(stateToProto))
	for k, v := range stateToProto {
		m[v] = k
	}
	return m
}()

// toProtoState maps "" (no state, e.g. PausedFrom of a job that is not
// paused) to unspecified.
func toProtoState(s host.State) pb.JobState { return stateToProto[s] }

func fromProtoState(s pb.JobState) host.State { return stateFromProto[s] }

func toProtoPriority(p host.Priority) pb.Priority {
	switch p {
	case host.PriorityLow:
		return pb.Priority_PRIORITY_LOW
	case host.PriorityHigh:
		return pb.Priority_PRIORITY_HIGH
	case host.PriorityCritical:
		return pb.Priority_PRIORITY_CRITICAL
	}
	return pb.Priority_PRIORITY_NORMAL
}

// fromProtoPriority refuses values this build does not know rather than
// guessing: a priority decides what runs first.
func fromProtoPriority(p pb.Priority) (host.Priority, error) {
	switch p {
	case pb.Priority_PRIORITY_UNSPECIFIED, pb.Priority_PRIORITY_NORMAL:
		return host.PriorityNormal, nil
	case pb.Priority_PRIORITY_LOW:
		return host.PriorityLow, nil
	case pb.Priority_PRIORITY_HIGH:
		return host.PriorityHigh, nil
	case pb.Priority_PRIORITY_CRITICAL:
		return host.PriorityCritical, nil
	}
	return 0, fmt.Errorf("unknown priority %d", int32(p))
}

// checkDeps refuses a dependency policy the wire cannot carry, rather than
// letting a typo become the default.
func checkDeps(deps []host.Dep) error {
	for _, d := range deps {
		if _, err := d.Policy.Resolve(); err != nil {
			return fmt.Errorf("%w: dependency %s: %v", host.ErrInvalid, d.Job, err)
		}
	}
	return nil
}

// wireInt is v as the wire's int32, refusing what would wrap around.
func wireInt(what string, v int) (int32, error) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, fmt.Errorf("%w: %s %d is out of range", host.ErrInvalid, what, v)
	}
	return int32(v), nil
}

func toProtoDeps(deps []host.Dep) []*pb.Dep {
	if len(deps) == 0 {
		return nil
	}
	out := make([]*pb.Dep, len(deps))
	for i, d := range deps {
		p := pb.DepPolicy_DEP_POLICY_CANCEL
		if d.Policy == host.DepIgnore {
			p = pb.DepPolicy_DEP_POLICY_IGNORE
		}
		out[i] = &pb.Dep{Job: d.Job, Policy: p}
	}
	return out
}

func fromProtoDeps(deps []*pb.Dep) ([]host.Dep, error) {
	if len(deps) == 0 {
		return nil, nil
	}
	out := make([]host.Dep, len(deps))
	for i, d := range deps {
		switch d.GetPolicy() {
		case pb.DepPolicy_DEP_POLICY_UNSPECIFIED, pb.DepPolicy_DEP_POLICY_CANCEL:
			out[i] = host.Dep{Job: d.GetJob(), Policy: host.DepCancel}
		case pb.DepPolicy_DEP_POLICY_IGNORE:
			out[i] = host.Dep{Job: d.GetJob(), Policy: host.DepIgnore}
		default:
			return nil, fmt.Errorf("dependency %s: unknown policy %d", d.GetJob(), int32(d.GetPolicy()))
		}
	}
	return out, nil
}

func toProtoDuration(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

func fromProtoDuration(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.AsDuration()
}

func toProtoTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func toProtoTimePtr(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return toProtoTime(*t)
}

// fromProtoTime returns local time, as the host's own snapshots do, so
// that the CLI prints the same times whether it asks a daemon or not.
func fromProtoTime(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime().Local()
}

func fromProtoTimePtr(t *timestamppb.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := fromProtoTime(t)
	return &v
}

// encodeArgs turns JobSpec.Args (raw JSON or any marshalable value) into
// bytes for the wire. The host validates them; the client only encodes.
func encodeArgs(args any) ([]byte, error) {
	switch a := args.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return a, nil
	case []byte:
		return a, nil
	}
	b, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("%w: args cannot be encoded as JSON: %v", host.ErrInvalid, err)
	}
	return b, nil
}

func toProtoSpec(s host.JobSpec) (*pb.JobSpec, error) {
	args, err := encodeArgs(s.Args)
	if err != nil {
		return nil, err
	}
	if !s.Priority.Valid() {
		return nil, fmt.Errorf("%w: invalid priority %d (want low, normal, high or critical)", host.ErrInvalid, int8(s.Priority))
	}
	if err := checkDeps(s.DependsOn); err != nil {
		return nil, err
	}
	attempts, err := wireInt("max attempts", s.MaxAttempts)
	if err != nil {
		return nil, err
	}
	out := &pb.JobSpec{
		Task:         s.Task,
		Args:         args,
		Priority:     toProtoPriority(s.Priority),
		MaxAttempts:  attempts,
		Timeout:      toProtoDuration(s.Timeout),
		StallTimeout: toProtoDuration(s.StallTimeout),
		RunAt:        toProtoTime(s.RunAt),
		Delay:        toProtoDuration(s.Delay),
		Key:          s.Key,
		Labels:       s.Labels,
		DependsOn:    toProtoDeps(s.DependsOn),
		Group:        s.Group,
		Resources:    toProtoResources(s.Resources),
	}
	if b := s.Backoff; b != nil {
		out.Backoff = &pb.Backoff{Initial: toProtoDuration(b.Initial), Multiplier: b.Multiplier, Max: toProtoDuration(b.Max), Jitter: b.Jitter}
	}
	return out, nil
}

func fromProtoSpec(s *pb.JobSpec) (host.JobSpec, error) {
	if s == nil {
		return host.JobSpec{}, fmt.Errorf("%w: no job spec given", host.ErrInvalid)
	}
	prio, err := fromProtoPriority(s.GetPriority())
	if err != nil {
		return host.JobSpec{}, fmt.Errorf("%w: %v", host.ErrInvalid, err)
	}
	deps, err := fromProtoDeps(s.GetDependsOn())
	if err != nil {
		return host.JobSpec{}, fmt.Errorf("%w: %v", host.ErrInvalid, err)
	}
	out := host.JobSpec{
		Task:         s.GetTask(),
		Priority:     prio,
		MaxAttempts:  int(s.GetMaxAttempts()),
		Timeout:      fromProtoDuration(s.GetTimeout()),
		StallTimeout: fromProtoDuration(s.GetStallTimeout()),
		RunAt:        fromProtoTime(s.GetRunAt()),
		Delay:        fromProtoDuration(s.GetDelay()),
		Key:          s.GetKey(),
		Labels:       s.GetLabels(),
		DependsOn:    deps,
		Group:        s.GetGroup(),
		Resources:    fromProtoResources(s.GetResources()),
	}
	if len(s.GetArgs()) > 0 {
		out.Args = json.RawMessage(s.GetArgs())
	}
	if b := s.GetBackoff(); b != nil {
		out.Backoff = &host.Backoff{Initial: fromProtoDuration(b.GetInitial()), Multiplier: b.GetMultiplier(), Max: fromProtoDuration(b.GetMax()), Jitter: b.GetJitter()}
	}
	return out, nil
}

func toProtoError(e *host.JobError) *pb.JobError {
	if e == nil {
		return nil
	}
	return &pb.JobError{Kind: string(e.Kind), Message: e.Message, Retryable: e.Retryable, Exit: e.Exit, Stderr: e.Stderr, Dependency: e.Dependency}
}

func fromProtoError(e *pb.JobError) *host.JobError {
	if e == nil {
		return nil
	}
	return &host.JobError{Kind: host.ErrorKind(e.GetKind()), Message: e.GetMessage(), Retryable: e.GetRetryable(), Exit: e.GetExit(), Stderr: e.GetStderr(), Dependency: e.GetDependency()}
}

func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

func toProtoJob(j *host.Job) *pb.Job {
	out := &pb.Job{
		Id:          j.ID,
		Task:        j.Task,
		State:       toProtoState(j.State),
		Priority:    toProtoPriority(j.Priority),
		Args:        j.Args,
		Result:      j.Result,
		Error:       toProtoError(j.Error),
		Attempt:     int32(j.Attempt),
		MaxAttempts: int32(j.MaxAttempts),
		Group:       j.Group,
		DependsOn:   toProtoDeps(j.DependsOn),
		Key:         j.Key,
		Labels:      j.Labels,
		Schedule:    j.Schedule,
		Progress:    &pb.Progress{Fraction: j.Progress.Fraction, Message: j.Progress.Message},
		Timeout:     toProtoDuration(time.Duration(j.Timeout)),
		CreatedAt:   toProtoTime(j.CreatedAt),
		QueuedAt:    toProtoTimePtr(j.QueuedAt),
		StartedAt:   toProtoTimePtr(j.StartedAt),
		FinishedAt:  toProtoTimePtr(j.FinishedAt),
		RunAt:       toProtoTimePtr(j.RunAt),
		PausedFrom:  toProtoState(j.PausedFrom),
		Resources:   toProtoResources(j.Resources),
	}
	for _, a := range j.Attempts {
		out.Attempts = append(out.Attempts, &pb.Attempt{Attempt: int32(a.Attempt), Host: a.Host, StartedAt: toProtoTime(a.StartedAt), FinishedAt: toProtoTimePtr(a.FinishedAt), Error: toProtoError(a.Error)})
	}
	return out
}

// fromProtoJob is lenient about what it does not know (an unknown state
// becomes ""): a snapshot is for showing, and a newer host must not make an
// older CLI fail to print a job.
func fromProtoJob(j *pb.Job) *host.Job {
	prio, _ := fromProtoPriority(j.GetPriority())
	deps, _ := fromProtoDeps(j.GetDependsOn())
	out := &host.Job{
		ID:          j.GetId(),
		Task:        j.GetTask(),
		State:       fromProtoState(j.GetState()),
		Priority:    prio,
		Args:        rawJSON(j.GetArgs()),
		Result:      rawJSON(j.GetResult()),
		Error:       fromProtoError(j.GetError()),
		Attempt:     int(j.GetAttempt()),
		MaxAttempts: int(j.GetMaxAttempts()),
		Group:       j.GetGroup(),
		DependsOn:   deps,
		Key:         j.GetKey(),
		Labels:      j.GetLabels(),
		Schedule:    j.GetSchedule(),
		Progress:    host.Progress{Fraction: j.GetProgress().GetFraction(), Message: j.GetProgress().GetMessage()},
		Timeout:     host.Duration(fromProtoDuration(j.GetTimeout())),
		CreatedAt:   fromProtoTime(j.GetCreatedAt()),
		QueuedAt:    fromProtoTimePtr(j.GetQueuedAt()),
		StartedAt:   fromProtoTimePtr(j.GetStartedAt()),
		FinishedAt:  fromProtoTimePtr(j.GetFinishedAt()),
		RunAt:       fromProtoTimePtr(j.GetRunAt()),
		PausedFrom:  fromProtoState(j.GetPausedFrom()),
		Resources:   fromProtoResources(j.GetResources()),
	}
	for _, a := range j.GetAttempts() {
		out.Attempts = append(out.Attempts, host.Attempt{Attempt: int(a.GetAttempt()), Host: a.GetHost(), StartedAt: fromProtoTime(a.GetStartedAt()), FinishedAt: fromProtoTimePtr(a.GetFinishedAt()), Error: fromProtoError(a.GetError())})
	}
	return out
}

func toProtoCounts(m map[host.State]int) []*pb.StateCount {
	var out []*pb.StateCount
	// In lifecycle order, so that the wire form is deterministic.
	for _, s := range []host.State{host.StateCreated, host.StateQueued, host.StateWaiting, host.StateRunning, host.StatePaused, host.StateCompleted, host.StateFailed, host.StateCanceled} {
		if n, ok := m[s]; ok {
			out = append(out, &pb.StateCount{State: toProtoState(s), Count: int64(n)})
		}
	}
	return out
}

func fromProtoCounts(c []*pb.StateCount) map[host.State]int {
	out := make(map[host.State]int, len(c))
	for _, sc := range c {
		if s := fromProtoState(sc.GetState()); s != "" {
			out[s] = int(sc.GetCount())
		}
	}
	return out
}

func toProtoGroup(g *host.Group) *pb.Group {
	return &pb.Group{
		Id:              g.ID,
		Name:            g.Name,
		Sequential:      g.Sequential,
		CancelOnFailure: g.CancelOnFailure,
		CreatedAt:       toProtoTime(g.CreatedAt),
		Counts:          toProtoCounts(g.Counts),
		Progress:        g.Progress,
		Done:            g.Done,
		Outcome:         g.Outcome,
		FinishedAt:      toProtoTimePtr(g.FinishedAt),
		Jobs:            g.Jobs,
	}
}

func fromProtoGroup(g *pb.Group) *host.Group {
	jobs := g.GetJobs()
	if jobs == nil {
		jobs = []string{} // the host's JSON has "jobs": [] for an empty group
	}
	return &host.Group{
		ID:              g.GetId(),
		Name:            g.GetName(),
		Sequential:      g.GetSequential(),
		CancelOnFailure: g.GetCancelOnFailure(),
		CreatedAt:       fromProtoTime(g.GetCreatedAt()),
		Counts:          fromProtoCounts(g.GetCounts()),
		Progress:        g.GetProgress(),
		Done:            g.GetDone(),
		Outcome:         g.GetOutcome(),
		FinishedAt:      fromProtoTimePtr(g.GetFinishedAt()),
		Jobs:            jobs,
	}
}

func toProtoStats(s host.Stats) *pb.HostStats {
	out := &pb.HostStats{
		Counts:         toProtoCounts(s.Counts),
		BusyWorkers:    int32(s.BusyWorkers),
		MaxWorkers:     int32(s.MaxWorkers),
		DispatchPaused: s.DispatchPaused,
		Throttled:      toProtoThrottled(s.Throttled),
		Capacity:       toProtoResources(s.Capacity),
		CapacityInUse:  toProtoResources(&s.CapacityInUse),
		MemoryPressure: s.MemoryPressure,
		DamagedJobs:    int64(s.DamagedJobs),
	}
	for _, p := range []host.Priority{host.PriorityCritical, host.PriorityHigh, host.PriorityNormal, host.PriorityLow} {
		if n, ok := s.QueueDepth[p.String()]; ok {
			out.QueueDepth = append(out.QueueDepth, &pb.PriorityCount{Priority: toProtoPriority(p), Count: int64(n)})
		}
	}
	return out
}

func fromProtoStats(s *pb.HostStats) host.Stats {
	out := host.Stats{
		Counts:         fromProtoCounts(s.GetCounts()),
		QueueDepth:     map[string]int{},
		BusyWorkers:    int(s.GetBusyWorkers()),
		MaxWorkers:     int(s.GetMaxWorkers()),
		DispatchPaused: s.GetDispatchPaused(),
		Throttled:      fromProtoThrottled(s.GetThrottled()),
		Capacity:       fromProtoResources(s.GetCapacity()),
		MemoryPressure: s.GetMemoryPressure(),
		DamagedJobs:    int(min(max(s.GetDamagedJobs(), 0), math.MaxInt)),
	}
	if r := fromProtoResources(s.GetCapacityInUse()); r != nil {
		out.CapacityInUse = *r
	}
	for _, pc := range s.GetQueueDepth() {
		if p, err := fromProtoPriority(pc.GetPriority()); err == nil {
			out.QueueDepth[p.String()] = int(pc.GetCount())
		}
	}
	return out
}

func toProtoTask(t host.TaskInfo) *pb.TaskInfo {
	return &pb.TaskInfo{Task: t.Name, Plugin: t.Plugin, Version: t.Version, Description: t.Description}
}

func fromProtoTask(t *pb.TaskInfo) host.TaskInfo {
	return host.TaskInfo{Name: t.GetTask(), Plugin: t.GetPlugin(), Version: t.GetVersion(), Description: t.GetDescription()}
}

func toProtoLog(r host.LogRecord) *pb.LogRecord {
	return &pb.LogRecord{Time: toProtoTime(r.Time), Attempt: int32(r.Attempt), Level: r.Level, Message: r.Message, Fields: r.Fields}
}

func fromProtoLog(r *pb.LogRecord) host.LogRecord {
	return host.LogRecord{Time: fromProtoTime(r.GetTime()), Attempt: int(r.GetAttempt()), Level: r.GetLevel(), Message: r.GetMessage(), Fields: rawJSON(r.GetFields())}
}

func toProtoFilter(f host.EventFilter) *pb.EventFilter {
	out := &pb.EventFilter{Jobs: f.Jobs, Groups: f.Groups}
	for _, t := range f.Types {
		out.Types = append(out.Types, string(t))
	}
	return out
}

func fromProtoFilter(f *pb.EventFilter) host.EventFilter {
	out := host.EventFilter{Jobs: f.GetJobs(), Groups: f.GetGroups()}
	for _, t := range f.GetTypes() {
		out.Types = append(out.Types, host.EventType(t))
	}
	return out
}

func toProtoEvent(e *host.Event) *pb.Event {
	out := &pb.Event{
		Type:      string(e.Type),
		Time:      toProtoTime(e.Time),
		Job:       e.Job,
		Task:      e.Task,
		Group:     e.Group,
		State:     toProtoState(e.State),
		PrevState: toProtoState(e.PrevState),
		Attempt:   int32(e.Attempt),
		Error:     toProtoError(e.Error),
		Dropped:   int32(e.Dropped),
		Schedule:  e.Schedule,
		Skipped:   e.Skipped,
	}
	if e.Progress != nil {
		out.Progress = &pb.Progress{Fraction: e.Progress.Fraction, Message: e.Progress.Message}
	}
	if e.Log != nil {
		out.Log = toProtoLog(*e.Log)
	}
	if gs := e.GroupStatus; gs != nil {
		out.GroupStatus = &pb.GroupStatus{Counts: toProtoCounts(gs.Counts), Progress: gs.Progress, Done: gs.Done, Outcome: gs.Outcome}
	}
	return out
}

func fromProtoEvent(e *pb.Event) host.Event {
	out := host.Event{
		Type:      host.EventType(e.GetType()),
		Time:      fromProtoTime(e.GetTime()),
		Job:       e.GetJob(),
		Task:      e.GetTask(),
		Group:     e.GetGroup(),
		State:     fromProtoState(e.GetState()),
		PrevState: fromProtoState(e.GetPrevState()),
		Attempt:   int(e.GetAttempt()),
		Error:     fromProtoError(e.GetError()),
		Dropped:   int(e.GetDropped()),
		Schedule:  e.GetSchedule(),
		Skipped:   e.GetSkipped(),
	}
	if p := e.GetProgress(); p != nil {
		out.Progress = &host.Progress{Fraction: p.GetFraction(), Message: p.GetMessage()}
	}
	if l := e.GetLog(); l != nil {
		r := fromProtoLog(l)
		out.Log = &r
	}
	if gs := e.GetGroupStatus(); gs != nil {
		out.GroupStatus = &host.GroupStatus{Counts: fromProtoCounts(gs.GetCounts()), Progress: gs.GetProgress(), Done: gs.GetDone(), Outcome: gs.GetOutcome()}
	}
	return out
}

var overlapToProto = map[host.Overlap]pb.ScheduleOverlap{
	host.OverlapSkip:  pb.ScheduleOverlap_SCHEDULE_OVERLAP_SKIP,
	host.OverlapAllow: pb.ScheduleOverlap_SCHEDULE_OVERLAP_ALLOW,
	host.OverlapQueue: pb.ScheduleOverlap_SCHEDULE_OVERLAP_QUEUE,
}

var missedToProto = map[host.Missed]pb.ScheduleMissed{
	host.MissedSkip: pb.ScheduleMissed_SCHEDULE_MISSED_SKIP,
	host.MissedNone: pb.ScheduleMissed_SCHEDULE_MISSED_NONE,
}

// fromProtoOverlap maps unspecified to "" (the host's default) and
// reports values this build does not know, like fromProtoPriority: a
// policy decides whether a job runs.
func fromProtoOverlap(o pb.ScheduleOverlap) (host.Overlap, bool) {
	if o == pb.ScheduleOverlap_SCHEDULE_OVERLAP_UNSPECIFIED {
		return "", true
	}
	for k, v := range overlapToProto {
		if v == o {
			return k, true
		}
	}
	return "", false
}

func fromProtoMissed(m pb.ScheduleMissed) (host.Missed, bool) {
	if m == pb.ScheduleMissed_SCHEDULE_MISSED_UNSPECIFIED {
		return "", true
	}
	for k, v := range missedToProto {
		if v == m {
			return k, true
		}
	}
	return "", false
}

// toProtoScheduleSpec refuses an overlap or missed-run policy the wire
// cannot carry here, with the host's wording, rather than sending
// "unspecified" and silently getting the default.
func toProtoScheduleSpec(s host.ScheduleSpec) (*pb.ScheduleSpec, error) {
	job, err := toProtoSpec(s.Job)
	if err != nil {
		return nil, err
	}
	out := &pb.ScheduleSpec{
		Name:     s.Name,
		Cron:     s.Cron,
		TimeZone: s.TimeZone,
		Job:      job,
		Jitter:   toProtoDuration(s.Jitter),
		Paused:   s.Paused,
	}
	if s.Overlap != "" {
		o, ok := overlapToProto[s.Overlap]
		if !ok {
			return nil, fmt.Errorf("%w: unknown overlap policy %q (want skip, allow or queue)", host.ErrInvalid, s.Overlap)
		}
		out.Overlap = o
	}
	if s.Missed != "" {
		m, ok := missedToProto[s.Missed]
		if !ok {
			return nil, fmt.Errorf("%w: unknown missed-run policy %q (want skip or none)", host.ErrInvalid, s.Missed)
		}
		out.Missed = m
	}
	return out, nil
}

func fromProtoScheduleSpec(s *pb.ScheduleSpec) (host.ScheduleSpec, error) {
	if s == nil {
		return host.ScheduleSpec{}, fmt.Errorf("%w: no schedule spec given", host.ErrInvalid)
	}
	job, err := fromProtoSpec(s.GetJob())
	if err != nil {
		return host.ScheduleSpec{}, err
	}
	overlap, ok := fromProtoOverlap(s.GetOverlap())
	if !ok {
		return host.ScheduleSpec{}, fmt.Errorf("%w: unknown overlap policy %d", host.ErrInvalid, int32(s.GetOverlap()))
	}
	missed, ok := fromProtoMissed(s.GetMissed())
	if !ok {
		return host.ScheduleSpec{}, fmt.Errorf("%w: unknown missed-run policy %d", host.ErrInvalid, int32(s.GetMissed()))
	}
	return host.ScheduleSpec{
		Name:     s.GetName(),
		Cron:     s.GetCron(),
		TimeZone: s.GetTimeZone(),
		Job:      job,
		Overlap:  overlap,
		Missed:   missed,
		Jitter:   fromProtoDuration(s.GetJitter()),
		Paused:   s.GetPaused(),
	}, nil
}

func toProtoSchedule(s *host.Schedule) *pb.Schedule {
	out := &pb.Schedule{
		Id:        s.ID,
		Name:      s.Name,
		Cron:      s.Cron,
		TimeZone:  s.TimeZone,
		Task:      s.Task,
		Args:      s.Args,
		Priority:  toProtoPriority(s.Priority),
		Group:     s.Group,
		Labels:    s.Labels,
		Overlap:   overlapToProto[s.Overlap],
		Missed:    missedToProto[s.Missed],
		Jitter:    toProtoDuration(time.Duration(s.Jitter)),
		Paused:    s.Paused,
		CreatedAt: toProtoTime(s.CreatedAt),
		LastFire:  toProtoTimePtr(s.LastFire),
		LastJob:   s.LastJob,
		LastState: toProtoState(s.LastState),

		MaxAttempts: int32(s.MaxAttempts),
		Timeout:     toProtoDuration(time.Duration(s.Timeout)),
		Resources:   toProtoResources(s.Resources),
	}
	for _, t := range s.Next {
		out.Next = append(out.Next, toProtoTime(t))
	}
	return out
}

// fromProtoSchedule is lenient, like fromProtoJob: a snapshot is for
// showing. Fire times come back in the schedule's own zone, as the host
// computes them, so "0 3 * * *" in Europe/Berlin reads 03:00 wherever the
// client runs; a zone the client's system lacks falls back to local time.
func fromProtoSchedule(s *pb.Schedule) *host.Schedule {
	prio, _ := fromProtoPriority(s.GetPriority())
	overlap, _ := fromProtoOverlap(s.GetOverlap())
	missed, _ := fromProtoMissed(s.GetMissed())
	loc := scheduleZone(s.GetTimeZone())
	out := &host.Schedule{
		ID:        s.GetId(),
		Name:      s.GetName(),
		Cron:      s.GetCron(),
		TimeZone:  s.GetTimeZone(),
		Task:      s.GetTask(),
		Args:      rawJSON(s.GetArgs()),
		Priority:  prio,
		Group:     s.GetGroup(),
		Labels:    s.GetLabels(),
		Overlap:   overlap,
		Missed:    missed,
		Jitter:    host.Duration(fromProtoDuration(s.GetJitter())),
		Paused:    s.GetPaused(),
		CreatedAt: fromProtoTime(s.GetCreatedAt()),
		LastJob:   s.GetLastJob(),
		LastState: fromProtoState(s.GetLastState()),

		MaxAttempts: int(s.GetMaxAttempts()),
		Timeout:     host.Duration(fromProtoDuration(s.GetTimeout())),
		Resources:   fromProtoResources(s.GetResources()),
	}
	if t := s.GetLastFire(); t != nil {
		v := t.AsTime().In(loc)
		out.LastFire = &v
	}
	for _, t := range s.GetNext() {
		out.Next = append(out.Next, t.AsTime().In(loc))
	}
	return out
}

func scheduleZone(name string) *time.Location {
	if name == "" {
		return time.Local
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.Local
	}
	return loc
}
