package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Task is one operation a plugin offers. It is opaque: build it with
// NewTask, which ties a name and a description to a typed function.
type Task struct {
	name        string
	description string
	run         func(ctx context.Context, job *Job, args []byte) ([]byte, error)
}

// Name returns the task's name inside its plugin ("analyze"); the host
// exposes it as "<plugin>.<name>".
func (t Task) Name() string { return t.name }

// Description returns the task's one-line description.
func (t Task) Description() string { return t.description }

// NewTask makes a task from a typed function.
//
// The job's JSON args are decoded into In with encoding/json. Unknown
// fields are rejected (so a typo such as "tiems" fails loudly instead of
// being ignored), as is anything after the JSON value. Empty args (no bytes,
// only white space, or null) give the zero In. If In or *In has a method
// Validate() error, it is called after decoding. A decode or validation
// failure ends the attempt with kind invalid_args, which is never retried;
// fn is not called.
//
// Out is encoded with encoding/json (without HTML escaping) as the job's
// result; an encode failure is a permanent error. When Out is
// json.RawMessage it is passed through byte for byte (after a validity
// check), so a task can return JSON it already has.
//
// fn's error decides what happens next: see Permanent, RetryAfter,
// InvalidArgs and UnsupportedFormat; any other error is kind task_error and
// is retried per the job's policy.
func NewTask[In, Out any](name, description string, fn func(ctx context.Context, job *Job, in In) (Out, error)) Task {
	t := Task{name: name, description: description}
	if fn == nil {
		return t
	}
	t.run = func(ctx context.Context, job *Job, args []byte) ([]byte, error) {
		in, err := decodeArgs[In](args)
		if err != nil {
			return nil, err
		}
		out, err := fn(ctx, job, in)
		if err != nil {
			return nil, err
		}
		return encodeOutput(out)
	}
	return t
}

// validator is the optional interface of an args type that checks itself.
type validator interface{ Validate() error }

func decodeArgs[In any](args []byte) (In, error) {
	var in In
	trimmed := bytes.TrimSpace(args)
	if len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return in, InvalidArgs(fmt.Errorf("invalid args: %s", argsMessage(err)))
		}
		if _, err := dec.Token(); err != io.EOF {
			return in, InvalidArgs(errors.New("invalid args: unexpected data after the JSON value"))
		}
	}
	if err := validate(&in); err != nil {
		return in, InvalidArgs(fmt.Errorf("invalid args: %w", err))
	}
	return in, nil
}

// validate calls Validate on *in or in, whichever has it.
func validate[In any](in *In) error {
	if v, ok := any(*in).(validator); ok {
		if isNilPointer(*in) {
			return nil
		}
		return v.Validate()
	}
	if v, ok := any(in).(validator); ok {
		return v.Validate()
	}
	return nil
}

// isNilPointer reports whether v is a nil pointer, so that Validate is not
// called on the nil *T that empty args decode to.
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// jsonMessage drops encoding/json's "json: " prefix; the error is already
// labelled as being about args.
func jsonMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

func encodeOutput(out any) ([]byte, error) {
	if raw, ok := out.(json.RawMessage); ok {
		if len(raw) == 0 {
			return []byte("null"), nil
		}
		if !json.Valid(raw) {
			return nil, Permanent(errors.New("encode result: the task returned invalid JSON"))
		}
		return raw, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, Permanent(fmt.Errorf("encode result: %s", jsonMessage(err)))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
