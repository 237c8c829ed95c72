package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/batchhost/batchhost/host"
)

// priorityValue is a flag that accepts only the four priority names, so a
// bad priority is a usage error at parse time.
type priorityValue struct{ p host.Priority }

func (v *priorityValue) String() string { return v.p.String() }
func (v *priorityValue) Type() string   { return "low|normal|high|critical" }
func (v *priorityValue) Set(s string) error {
	p, err := host.ParsePriority(s)
	if err != nil {
		return err
	}
	v.p = p
	return nil
}

// jobFlags are the job options submit and create share.
type jobFlags struct {
	args         string
	argsFile     string
	priority     priorityValue
	after        []string
	group        string
	maxAttempts  int
	timeout      time.Duration
	stallTimeout time.Duration
	delay        time.Duration
	key          string
	labels       []string
	cpu          optValue[float64]
	memoryMB     optValue[int]
}

// optValue is a flag that records whether it was given.
type optValue[T float64 | int] struct {
	v   T
	set bool
}

func (o *optValue[T]) String() string {
	if !o.set {
		return ""
	}
	return fmt.Sprint(o.v)
}
func (o *optValue[T]) Type() string {
	var z T
	if _, ok := any(z).(float64); ok {
		return "float"
	}
	return "int"
}
func (o *optValue[T]) Set(s string) error {
	var v T
	switch p := any(&v).(type) {
	case *float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		*p = f
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
	}
	o.v, o.set = v, true
	return nil
}

// jobFlagNames lists the flags register adds, for commands that must
// refuse them in another mode (submit --batch).
var jobFlagNames = []string{"args", "args-file", "priority", "after", "group", "max-attempts", "timeout", "stall-timeout", "delay", "key", "label", "cpu", "memory-mb"}

func (f *jobFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.args, "args", "", "task arguments as JSON")
	fs.StringVar(&f.argsFile, "args-file", "", "task arguments as JSON, read from `FILE` (instead of --args; no shell quoting)")
	fs.SetAnnotation("args-file", cobra.BashCompFilenameExt, []string{})
	fs.Var(&f.priority, "priority", "priority: low, normal, high or critical")
	fs.StringArrayVar(&f.after, "after", nil, "run after job `ID` completes (repeatable)")
	fs.StringVar(&f.group, "group", "", "add the job to group `GID`")
	fs.IntVar(&f.maxAttempts, "max-attempts", 0, "automatic attempt budget (default: the host's, 3)")
	fs.DurationVar(&f.timeout, "timeout", 0, "bound on one attempt (default: the host's, none)")
	fs.DurationVar(&f.stallTimeout, "stall-timeout", 0, "fail an attempt silent for this long (default none)")
	fs.DurationVar(&f.delay, "delay", 0, "run no earlier than this from now")
	fs.StringVar(&f.key, "key", "", "idempotency key: a kept job with this key is returned instead of a new one")
	fs.StringArrayVar(&f.labels, "label", nil, "label `NAME=VALUE` kept with the job (repeatable)")
	fs.Var(&f.cpu, "cpu", "CPUs the job needs while it runs, e.g. 1.5: it starts only while the host's capacity has room (default: the task's, from serve --resources, else none)")
	fs.Var(&f.memoryMB, "memory-mb", "memory in MiB the job needs while it runs (with --cpu, or alone: the other is then 0)")
}

// spec builds the job spec; malformed --args and --label are usage errors.
// Ranges (negative timeouts, absurd attempts) are the host's to judge.
func (f *jobFlags) spec(task string) (host.JobSpec, error) {
	s := host.JobSpec{
		Task:         task,
		Priority:     f.priority.p,
		DependsOn:    host.After(f.after...),
		Group:        f.group,
		MaxAttempts:  f.maxAttempts,
		Timeout:      f.timeout,
		StallTimeout: f.stallTimeout,
		Delay:        f.delay,
		Key:          f.key,
	}
	if len(s.DependsOn) == 0 {
		s.DependsOn = nil
	}
	if f.cpu.set || f.memoryMB.set {
		s.Resources = &host.Resources{CPU: f.cpu.v, MemoryMB: f.memoryMB.v}
	}
	if f.args != "" && f.argsFile != "" {
		return s, usageErrorf("give --args or --args-file, not both")
	}
	if f.argsFile != "" {
		b, err := os.ReadFile(f.argsFile)
		if err != nil {
			return s, usageErrorf("--args-file: %v", err)
		}
		if !utf8.Valid(b) {
			return s, usageErrorf("invalid --args-file %s: not valid UTF-8", f.argsFile)
		}
		if err := checkJSON(string(b)); err != nil {
			return s, usageErrorf("invalid --args-file %s: %v", f.argsFile, err)
		}
		s.Args = json.RawMessage(bytes.TrimSpace(b))
	}
	if f.args != "" {
		if err := checkJSON(f.args); err != nil {
			return s, usageErrorf("invalid --args: %v", err)
		}
		s.Args = json.RawMessage(f.args)
	}
	for _, l := range f.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return s, usageErrorf("invalid --label %q: want NAME=VALUE", l)
		}
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[k] = v
	}
	return s, nil
}

// checkJSON says what is wrong with a JSON text, with the byte offset.
func checkJSON(s string) error {
	var v any
	err := json.Unmarshal([]byte(s), &v)
	if se, ok := err.(*json.SyntaxError); ok {
		return &jsonError{msg: se.Error(), offset: se.Offset}
	}
	return err
}

type jsonError struct {
	msg    string
	offset int64
}

func (e *jsonError) Error() string {
	return e.msg + " (at byte " + strconv.FormatInt(e.offset, 10) + ")"
}
