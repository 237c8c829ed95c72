package model

import (
	"errors"
	"testing"
)

func TestTransition(t *testing.T) {
	tests := []struct {
		from State
		ev   Event
		to   State
		ok   bool
	}{
		{Created, EvSubmit, Queued, true},
		{Created, EvSubmit, Waiting, true},
		{Created, EvSubmit, Running, false},
		{Created, EvCancel, Canceled, true},
		{Created, EvPause, Paused, false},
		{Created, EvDispatch, Running, false},
		{Waiting, EvDepsReady, Queued, true},
		{Waiting, EvDispatch, Running, false},
		{Waiting, EvPause, Paused, true},
		{Waiting, EvCancel, Canceled, true},
		{Waiting, EvFail, Failed, false},
		{Queued, EvDispatch, Running, true},
		{Queued, EvDepsWait, Waiting, true},
		{Queued, EvPause, Paused, true},
		{Queued, EvCancel, Canceled, true},
		{Queued, EvSucceed, Completed, false},
		{Queued, EvSubmit, Queued, false},
		{Running, EvSucceed, Completed, true},
		{Running, EvRetry, Queued, true},
		{Running, EvFail, Failed, true},
		{Running, EvCancel, Canceled, true},
		{Running, EvPause, Paused, true},
		{Running, EvResume, Running, false},
		{Running, EvRetry, Waiting, false},
		{Paused, EvResume, Queued, true},
		{Paused, EvResume, Waiting, true},
		{Paused, EvResume, Running, true},
		{Paused, EvResume, Completed, false},
		{Paused, EvCancel, Canceled, true},
		{Paused, EvPause, Paused, false},
		{Paused, EvSucceed, Completed, true},
		{Paused, EvFail, Failed, true},
		{Paused, EvRetry, Paused, true},
		{Paused, EvDispatch, Running, false},
		{Completed, EvRequeue, Queued, false},
		{Completed, EvCancel, Canceled, false},
		{Completed, EvPause, Paused, false},
		{Failed, EvRequeue, Queued, true},
		{Failed, EvRequeue, Waiting, true},
		{Failed, EvCancel, Canceled, false},
		{Failed, EvResume, Queued, false},
		{Canceled, EvRequeue, Queued, true},
		{Canceled, EvCancel, Canceled, false},
		{Canceled, EvSubmit, Queued, false},
	}
	for _, tc := range tests {
		err := Transition(tc.from, tc.ev, tc.to)
		if (err == nil) != tc.ok {
			t.Errorf("Transition(%s, %s, %s) = %v, want ok=%v", tc.from, tc.ev, tc.to, err, tc.ok)
		}
		if err != nil {
			var te *TransitionError
			if !errors.As(err, &te) || te.From != tc.from {
				t.Errorf("error %v is not a *TransitionError from %s", err, tc.from)
			}
		}
	}
}

func TestTerminalStatesAreExactlyThree(t *testing.T) {
	var term []State
	for _, s := range States {
		if s.Terminal() {
			term = append(term, s)
			if s.Live() {
				t.Errorf("%s is both terminal and live", s)
			}
		} else if !s.Live() {
			t.Errorf("%s is neither terminal nor live", s)
		}
	}
	if len(term) != 3 {
		t.Errorf("terminal states %v", term)
	}
	if _, err := ParseState("bogus"); err == nil {
		t.Error("ParseState accepted bogus")
	}
}

func TestPriorityJSON(t *testing.T) {
	for _, p := range Priorities {
		b, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var q Priority
		if err := q.UnmarshalJSON(b); err != nil || q != p {
			t.Errorf("round trip %v: %v %v", p, q, err)
		}
	}
	var q Priority
	if err := q.UnmarshalJSON([]byte(`"urgent"`)); err == nil {
		t.Error("accepted urgent")
	}
	if _, err := Priority(7).MarshalJSON(); err == nil {
		t.Error("marshalled priority 7")
	}
}
