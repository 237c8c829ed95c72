package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/batchhost/batchhost/host"
	"github.com/batchhost/batchhost/host/control"
)

// batchLine is one line of a --batch file. It is decoded strictly: an
// unknown field is a typo, not something to ignore.
type batchLine struct {
	Task         string            `json:"task"`
	Args         json.RawMessage   `json:"args"`
	Priority     string            `json:"priority"`
	DependsOn    []batchDep        `json:"depends_on"`
	Group        string            `json:"group"`
	MaxAttempts  int               `json:"max_attempts"`
	Timeout      string            `json:"timeout"`
	StallTimeout string            `json:"stall_timeout"`
	Delay        string            `json:"delay"`
	Key          string            `json:"key"`
	Labels       map[string]string `json:"labels"`
}

// batchDep is a dependency: a job id, or {"id": ..., "policy": "ignore"}.
// It is decoded as strictly as the line: an unknown field, a missing id or
// an unknown policy is refused, not taken for a default.
type batchDep host.Dep

func (d *batchDep) UnmarshalJSON(b []byte) error {
	var id string
	if err := json.Unmarshal(b, &id); err == nil {
		if id == "" {
			return errors.New(`depends_on: an entry has no "id"`)
		}
		*d = batchDep{Job: id}
		return nil
	}
	var full struct {
		ID     string `json:"id"`
		Policy string `json:"policy"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&full); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fmt.Errorf("depends_on: unknown field %s", f)
		}
		return errors.New("depends_on entries must be job ids or {\"id\": ..., \"policy\": \"cancel\"|\"ignore\"}")
	}
	if full.ID == "" {
		return errors.New(`depends_on: an entry has no "id"`)
	}
	if _, err := host.DepPolicy(full.Policy).Resolve(); err != nil {
		return fmt.Errorf("depends_on: %w", err)
	}
	*d = batchDep{Job: full.ID, Policy: host.DepPolicy(full.Policy)}
	return nil
}

// utf8BOM is the byte order mark some editors put at the start of a file.
var utf8BOM = []byte("\ufeff")

// maxBatchLine bounds one line: args of 1 MiB plus the rest of the spec.
const maxBatchLine = 4 << 20

// readBatch parses a batch file: every line a job spec, blank lines and
// lines starting with # skipped. lines[i] is the line number of specs[i].
func readBatch(r io.Reader) (specs []host.JobSpec, lines []int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxBatchLine)
	n := 0
	for sc.Scan() {
		n++
		text := sc.Bytes()
		if n == 1 {
			// Some editors start a UTF-8 file with a byte order mark.
			text = bytes.TrimPrefix(text, utf8BOM)
		}
		text = bytes.TrimSpace(text)
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		if !utf8.Valid(text) {
			// encoding/json would quietly turn the bad bytes into U+FFFD.
			return nil, nil, fmt.Errorf("line %d: not valid UTF-8", n)
		}
		spec, err := parseBatchLine(text)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", n, err)
		}
		specs = append(specs, spec)
		lines = append(lines, n)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, nil, fmt.Errorf("line %d: longer than %d bytes", n+1, maxBatchLine)
		}
		return nil, nil, err
	}
	if len(specs) == 0 {
		return nil, nil, errors.New("no job specs in the batch")
	}
	return specs, lines, nil
}

func parseBatchLine(text []byte) (host.JobSpec, error) {
	var l batchLine
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return host.JobSpec{}, fmt.Errorf("invalid JSON: %v (at byte %d)", se, se.Offset)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return host.JobSpec{}, errors.New("invalid JSON: the line ends inside a value")
		}
		return host.JobSpec{}, fmt.Errorf("invalid job spec: %v", err)
	}
	if dec.More() {
		return host.JobSpec{}, errors.New("invalid JSON: more than one value on the line")
	}
	if l.Task == "" {
		return host.JobSpec{}, errors.New(`"task" is required`)
	}
	prio, err := host.ParsePriority(l.Priority)
	if err != nil {
		return host.JobSpec{}, err
	}
	spec := host.JobSpec{Task: l.Task, Priority: prio, Group: l.Group, MaxAttempts: l.MaxAttempts, Key: l.Key, Labels: l.Labels}
	if len(l.Args) > 0 && string(l.Args) != "null" {
		spec.Args = l.Args
	}
	for _, d := range l.DependsOn {
		spec.DependsOn = append(spec.DependsOn, host.Dep(d))
	}
	for _, f := range []struct {
		name string
		s    string
		dst  *time.Duration
	}{{"timeout", l.Timeout, &spec.Timeout}, {"stall_timeout", l.StallTimeout, &spec.StallTimeout}, {"delay", l.Delay, &spec.Delay}} {
		if f.s == "" {
			continue
		}
		d, err := time.ParseDuration(f.s)
		if err != nil {
			return host.JobSpec{}, fmt.Errorf("%s: %v", f.name, err)
		}
		*f.dst = d
	}
	return spec, nil
}

// blame finds the first spec a host error is about, for errors that do not
// say which job they concern (unknown task, dependency or group): the one
// whose task, dependency or group the message names. -1 if none.
func blame(msg string, specs []host.JobSpec) int {
	names := func(s string) bool {
		return s != "" && regexp.MustCompile(`(^|[^\w-])`+regexp.QuoteMeta(s)+`($|[^\w-])`).MatchString(msg)
	}
	for i, s := range specs {
		if strings.Contains(msg, strconv.Quote(s.Task)) || names(s.Group) {
			return i
		}
		for _, d := range s.DependsOn {
			if names(d.Job) {
				return i
			}
		}
	}
	return -1
}

// refusedLine finds the line of the job a SubmitMany error is about, and
// the message without the "job N: " prefix that names it; 0 if no line is
// to blame: a lost host, a timeout, or a refusal of the whole batch (a full
// queue). The client and the host prefix "job N: " when they can; the host
// does not for a single job, which is then the one at fault.
func refusedLine(err error, specs []host.JobSpec, lines []int) (int, string) {
	msg := err.Error()
	if m := hostJobIndex.FindStringSubmatch(msg); m != nil {
		if i, _ := strconv.Atoi(m[1]); i >= 1 && i <= len(lines) {
			return lines[i-1], msg[len(m[0]):]
		}
	}
	var re *control.RemoteError
	if !errors.As(err, &re) {
		return 0, msg // not the host's answer: a lost host, a timeout
	}
	for _, whole := range []error{host.ErrQueueFull, host.ErrClosed, host.ErrFailed} {
		if errors.Is(err, whole) {
			return 0, msg
		}
	}
	if len(specs) == 1 {
		return lines[0], msg
	}
	if i := blame(msg, specs); i >= 0 {
		return lines[i], msg
	}
	return 0, msg
}

// hostJobIndex finds the host's "job N: " prefix of a SubmitMany error.
var hostJobIndex = regexp.MustCompile(`^job (\d+): `)

// submitBatch submits a batch file in one commit, or, when it is bigger
// than one request may carry (control.MaxRequestBytes), in one commit per
// request-sized run of lines. A malformed line is a usage error naming it,
// and nothing is sent; an error from the host names the line of the job it
// refused; nothing of that run or after it is committed, and the ids of
// the runs before it are printed.
func (c *cli) submitBatch(cmd *cobra.Command, path string) error {
	var r io.Reader = c.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return usageErrorf("--batch: %v", err)
		}
		defer f.Close()
		r = f
	}
	specs, lines, err := readBatch(r)
	if err != nil {
		return usageErrorf("--batch %s: %v", path, err)
	}
	ctx := cmd.Context()
	cl, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	runs, err := control.SplitSubmit(specs)
	if err != nil {
		runs = [][]host.JobSpec{specs} // SubmitMany names the job at fault
	}
	var ids []string
	for _, run := range runs {
		done := len(ids)
		got, err := cl.SubmitMany(ctx, run)
		if err != nil {
			kept := "nothing was submitted"
			if done > 0 {
				if perr := c.printIDs(ids); perr != nil {
					return perr
				}
				kept = fmt.Sprintf("lines %d to %d were submitted, their ids are printed; nothing from line %d on was", lines[0], lines[done-1], lines[done])
			}
			runLines := lines[done : done+len(run)]
			if line, msg := refusedLine(err, run, runLines); line > 0 {
				if errors.Is(err, host.ErrUnknownTask) {
					task := run[slices.Index(runLines, line)].Task
					msg = fmt.Sprintf("unknown task %q%s", task, taskHint(ctx, cl, task))
				}
				return &reworded{fmt.Sprintf("--batch %s: line %d: %s (%s)", path, line, msg, kept), err}
			}
			return fmt.Errorf("--batch %s: %w (%s)", path, err, kept)
		}
		ids = append(ids, got...)
	}
	return c.printIDs(ids)
}

// printIDs prints submitted ids, one a line or as a JSON array.
func (c *cli) printIDs(ids []string) error {
	if c.json {
		return c.printJSON(ids)
	}
	w := bufio.NewWriter(c.stdout)
	for _, id := range ids {
		fmt.Fprintln(w, id)
	}
	return w.Flush()
}

// reworded replaces an error's message and keeps it for errors.Is, which
// decides the exit code.
type reworded struct {
	msg string
	err error
}

func (e *reworded) Error() string { return e.msg }
func (e *reworded) Unwrap() error { return e.err }
