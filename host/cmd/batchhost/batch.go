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
	// Resources is what the job needs while it runs, {"cpu": 1.5,
	// "memory_mb": 800}; absent means the task's default.
	Resources *host.Resources `json:"resources"`
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

// readBatch parses a whole batch: every line a job spec, blank lines and
// lines starting with # skipped. lines[i] is the line number of specs[i].
func readBatch(r io.Reader) (specs []host.JobSpec, lines []int, err error) {
	err = scanBatch(r, func(spec host.JobSpec, line int) error {
		specs = append(specs, spec)
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return specs, lines, nil
}

// scanBatch parses a batch line by line, handing each spec and its line
// number to fn, so that a caller need not hold the file. An error names
// the line; a batch without a spec is an error.
func scanBatch(r io.Reader, fn func(spec host.JobSpec, line int) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxBatchLine)
	n, found := 0, false
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
			return fmt.Errorf("line %d: not valid UTF-8", n)
		}
		spec, err := parseBatchLine(text)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		found = true
		if err := fn(spec, n); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d: longer than %d bytes", n+1, maxBatchLine)
		}
		return err
	}
	if !found {
		return errors.New("no job specs in the batch")
	}
	return nil
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
	spec := host.JobSpec{Task: l.Task, Priority: prio, Group: l.Group, MaxAttempts: l.MaxAttempts, Key: l.Key, Labels: l.Labels,
		Resources: l.Resources}
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
	for _, whole := range []error{host.ErrQueueFull, host.ErrClosed, host.ErrFailed, host.ErrUnavailable, host.ErrNoSpace} {
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
// request-sized run of lines. It streams: the file is read twice, once to
// check every line (a malformed line is a usage error naming it, and
// nothing is sent) and once to send it run by run, so the client holds
// one run, not the file; standard input is copied to a temporary file
// first. An error from the host names the line of the job it refused;
// nothing of that run or after it is committed, and the ids of the runs
// before it, printed as each was committed, say what was.
func (c *cli) submitBatch(cmd *cobra.Command, path string) error {
	f, cleanup, err := c.batchFile(path)
	if err != nil {
		return usageErrorf("--batch: %v", err)
	}
	defer cleanup()
	if err := scanBatch(f, func(host.JobSpec, int) error { return nil }); err != nil {
		return usageErrorf("--batch %s: %v", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("--batch %s: %w", path, err)
	}
	ctx := cmd.Context()
	cl, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer cl.Close()
	out := c.newIDPrinter()
	var (
		run             []host.JobSpec
		runLines        []int
		size, firstLine int
		lastSent        int // the last line of the runs committed
	)
	send := func() error {
		if len(run) == 0 {
			return nil
		}
		got, err := cl.SubmitMany(ctx, run)
		if err != nil {
			kept := "nothing was submitted"
			if lastSent > 0 {
				kept = fmt.Sprintf("lines %d to %d were submitted, their ids are printed; nothing from line %d on was", firstLine, lastSent, runLines[0])
			}
			if ferr := out.finish(); ferr != nil {
				return ferr
			}
			if line, msg := refusedLine(err, run, runLines); line > 0 {
				if errors.Is(err, host.ErrUnknownTask) {
					task := run[slices.Index(runLines, line)].Task
					msg = fmt.Sprintf("unknown task %q%s", task, taskHint(ctx, cl, task))
				}
				return &reworded{fmt.Sprintf("--batch %s: line %d: %s (%s)", path, line, msg, kept), err}
			}
			return fmt.Errorf("--batch %s: %w (%s)", path, err, kept)
		}
		if err := out.print(got); err != nil {
			return err
		}
		lastSent = runLines[len(runLines)-1]
		run, runLines, size = run[:0], runLines[:0], 0
		return nil
	}
	err = scanBatch(f, func(spec host.JobSpec, line int) error {
		if firstLine == 0 {
			firstLine = line
		}
		n, err := control.SubmitSize(spec)
		if err != nil {
			n = 0 // SubmitMany names the job at fault
		}
		if len(run) > 0 && size+n > control.MaxRequestBytes {
			if err := send(); err != nil {
				return err
			}
		}
		run, runLines, size = append(run, spec), append(runLines, line), size+n
		return nil
	})
	if err == nil {
		err = send()
	}
	if err != nil {
		return err
	}
	return out.finish()
}

// batchFile opens a batch for reading twice: the file itself, or for "-"
// a temporary copy of standard input.
func (c *cli) batchFile(path string) (io.ReadSeeker, func(), error) {
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
	tmp, err := os.CreateTemp("", "batchhost-batch-")
	if err != nil {
		return nil, nil, fmt.Errorf("copy standard input: %w", err)
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	if _, err := io.Copy(tmp, c.stdin); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("copy standard input: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, nil, err
	}
	return tmp, cleanup, nil
}

// idPrinter prints submitted ids as they are committed: one a line, or
// the elements of one JSON array.
type idPrinter struct {
	c       *cli
	w       *bufio.Writer
	printed bool
	done    bool
}

func (c *cli) newIDPrinter() *idPrinter { return &idPrinter{c: c, w: bufio.NewWriter(c.stdout)} }

func (p *idPrinter) print(ids []string) error {
	for _, id := range ids {
		if p.c.json {
			sep := ",\n  "
			if !p.printed {
				sep = "[\n  "
			}
			b, _ := json.Marshal(id)
			fmt.Fprintf(p.w, "%s%s", sep, b)
		} else {
			fmt.Fprintln(p.w, id)
		}
		p.printed = true
	}
	return p.w.Flush()
}

// finish closes the JSON array (an empty one when nothing was printed).
func (p *idPrinter) finish() error {
	if p.done {
		return nil
	}
	p.done = true
	if p.c.json {
		if p.printed {
			fmt.Fprint(p.w, "\n]\n")
		} else {
			fmt.Fprint(p.w, "[]\n")
		}
	}
	return p.w.Flush()
}

// reworded replaces an error's message and keeps it for errors.Is, which
// decides the exit code.
type reworded struct {
	msg string
	err error
}

func (e *reworded) Error() string { return e.msg }
func (e *reworded) Unwrap() error { return e.err }
