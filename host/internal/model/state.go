package model

import "fmt"

// State is a job's lifecycle state. The spellings are part of the CLI and
// JSON contract.
type State string

// The eight states of the seed.
const (
	Created   State = "created"
	Queued    State = "queued"
	Waiting   State = "waiting"
	Running   State = "running"
	Paused    State = "paused"
	Completed State = "completed"
	Failed    State = "failed"
	Canceled  State = "canceled"
)

// States lists every state in lifecycle order.
var States = []State{Created, Queued, Waiting, Running, Paused, Completed, Failed, Canceled}

// ParseState parses a state name.
func ParseState(s string) (State, error) {
	for _, st := range States {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown state %q (want one of created, queued, waiting, running, paused, completed, failed, canceled)", s)
}

// Terminal reports whether a job in state s is finished: it will not run
// again unless a user retries it.
func (s State) Terminal() bool {
	return s == Completed || s == Failed || s == Canceled
}

// Live reports whether s is a state of an unfinished job (created ones
// included): one the engine keeps in memory and the store indexes for
// start-up.
func (s State) Live() bool {
	return s != "" && !s.Terminal()
}

// Event names what moved a job from one state to another.
type Event string

// The transition events.
const (
	EvSubmit    Event = "submit"     // created → waiting or queued
	EvDepsReady Event = "deps_ready" // waiting → queued
	EvDepsWait  Event = "deps_wait"  // queued → waiting (a dependency was retried)
	EvDispatch  Event = "dispatch"   // queued → running
	EvSucceed   Event = "succeed"    // running → completed
	EvRetry     Event = "retry"      // running → queued (attempts left, or interrupted)
	EvFail      Event = "fail"       // running → failed; waiting/queued → failed is not a thing
	EvCancel    Event = "cancel"     // any live or created → canceled
	EvPause     Event = "pause"      // queued, waiting, running → paused
	EvResume    Event = "resume"     // paused → queued, waiting or running
	EvRequeue   Event = "requeue"    // failed, canceled → waiting or queued (manual retry)
)

// transitions is the whole legal state machine: from → event → allowed
// destinations. Anything not listed is refused.
var transitions = map[State]map[Event][]State{
	Created: {
		EvSubmit: {Waiting, Queued},
		EvCancel: {Canceled},
	},
	Waiting: {
		EvDepsReady: {Queued},
		EvCancel:    {Canceled},
		EvPause:     {Paused},
	},
	Queued: {
		EvDispatch: {Running},
		EvDepsWait: {Waiting},
		EvCancel:   {Canceled},
		EvPause:    {Paused},
	},
	Running: {
		EvSucceed: {Completed},
		EvRetry:   {Queued},
		EvFail:    {Failed},
		EvCancel:  {Canceled},
		EvPause:   {Paused},
	},
	Paused: {
		// A paused running attempt can still end (it was killed, or it
		// finished in the instant before the stop signal landed).
		EvResume:    {Queued, Waiting, Running},
		EvCancel:    {Canceled},
		EvSucceed:   {Completed},
		EvFail:      {Failed},
		EvRetry:     {Paused},
		EvDepsReady: {Paused},
		EvDepsWait:  {Paused},
	},
	Failed: {
		EvRequeue: {Waiting, Queued},
	},
	Canceled: {
		EvRequeue: {Waiting, Queued},
	},
	Completed: {},
}

// Transition checks that event ev may move a job from state from to state
// to, and returns a descriptive error if not.
func Transition(from State, ev Event, to State) error {
	for _, allowed := range transitions[from][ev] {
		if allowed == to {
			return nil
		}
	}
	return &TransitionError{From: from, Event: ev, To: to}
}

// Can reports whether event ev is legal from state from at all.
func Can(from State, ev Event) bool {
	return len(transitions[from][ev]) > 0
}

// TransitionError is an illegal state change. It is a bug in the engine
// when it escapes; user-facing refusals are checked before with Can.
type TransitionError struct {
	From  State
	Event Event
	To    State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("illegal transition %s --%s--> %s", e.From, e.Event, e.To)
}
