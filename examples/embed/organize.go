package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/mattn/go-isatty"

	"github.com/batchhost/batchhost/host"
)

type options struct {
	src, dest, rulesFile, mode, pluginDir, dataDir string
	workers                                        int
}

// defaultRules file documents by keywords and patterns; -rules replaces
// them.
var defaultRules = json.RawMessage(`{
  "categories": [
    {"name": "invoices", "keywords": ["invoice", "rechnung", "facture", "factura", "amount due"], "patterns": ["INV-\\d+"]},
    {"name": "receipts", "keywords": ["receipt", "quittung", "reçu", "recibo", "paid"]},
    {"name": "letters", "keywords": ["dear", "sincerely", "regards", "sehr geehrte"]},
    {"name": "reports", "keywords": ["report", "summary", "quarter", "results"]},
    {"name": "notes", "keywords": ["note", "todo", "meeting", "notes"]}
  ],
  "default": "other"
}`)

// exitInterrupted is the exit code after SIGINT or SIGTERM, as shells
// report a program killed by SIGINT.
const exitInterrupted = 130

// file is one document of the run and its three jobs.
type file struct {
	rel                  string
	path                 string
	inspect, cat, organz string
}

// run organizes o.src into o.dest and prints a summary; it returns the
// process exit code.
func run(o options, out io.Writer) int {
	code, err := organizeFolder(o, out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		return 2
	}
	return code
}

func organizeFolder(o options, out io.Writer) (int, error) {
	src, err := filepath.Abs(o.src)
	if err != nil {
		return 0, err
	}
	dest, err := filepath.Abs(o.dest)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return 0, err
	}
	if o.dataDir == "" {
		o.dataDir = filepath.Join(dest, ".batchhost")
	}
	rules := defaultRules
	if o.rulesFile != "" {
		if rules, err = os.ReadFile(o.rulesFile); err != nil {
			return 0, err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	h, err := host.Open(host.Config{DataDir: o.dataDir, PluginDir: o.pluginDir, MaxWorkers: o.workers})
	if err != nil {
		return 0, err
	}
	defer h.Close()
	for _, p := range h.Problems() {
		fmt.Fprintln(os.Stderr, "embed: warning:", p)
	}
	if err := h.Start(ctx); err != nil {
		return 0, err
	}

	files, err := listFiles(src, dest)
	if err != nil {
		return 0, err
	}
	group, resumed, err := findOrCreateGroup(ctx, h, "organize "+src+" -> "+dest)
	if err != nil {
		return 0, err
	}
	if resumed {
		fmt.Fprintf(out, "resuming the unfinished run %s (%d files)\n", group, len(files))
	} else {
		fmt.Fprintf(out, "organizing %d files from %s into %s (run %s)\n", len(files), src, dest, group)
	}
	fmt.Fprintln(out, "Ctrl-C stops; run the same command again to resume")
	if len(files) == 0 {
		return 0, nil
	}
	// Each job's key is derived from the run and the file, so a resumed
	// run gets the jobs it already has instead of new ones.
	if err := submitDAG(ctx, h, group, files, dest, rules, o.mode); err != nil {
		return 0, err
	}
	fmt.Fprintln(out, "submitted")
	g, err := watchProgress(ctx, h, group, out)
	if err != nil && ctx.Err() != nil {
		// Interrupted: the run and its jobs are durable in o.dataDir.
		fmt.Fprintf(out, "\nstopped; run %s is kept: run the same command again to resume it\n", group)
		return exitInterrupted, nil
	}
	if err != nil {
		return 0, err
	}
	return summarize(ctx, h, g, files, dest, out)
}

// listFiles lists the regular, non-hidden files under src, skipping dest
// when it lies inside src.
func listFiles(src, dest string) ([]*file, error) {
	var files []*file
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != src && strings.HasPrefix(d.Name(), ".") || p == dest {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(src, p)
			files = append(files, &file{rel: rel, path: p})
		}
		return nil
	})
	return files, err
}

// findOrCreateGroup resumes an unfinished group of the same name, or
// creates a new one.
func findOrCreateGroup(ctx context.Context, h *host.Host, name string) (string, bool, error) {
	for before := ""; ; {
		groups, next, err := h.ListGroups(ctx, before, 1000)
		if err != nil {
			return "", false, err
		}
		for _, g := range groups {
			if g.Name == name && !g.Done {
				return g.ID, true, nil
			}
		}
		if next == "" {
			break
		}
		before = next
	}
	id, err := h.CreateGroup(ctx, host.GroupSpec{Name: name})
	return id, false, err
}

// submitDAG submits inspect → categorize → organize for every file, one
// commit per stage. Organize waits for categorize whatever its outcome
// (DepIgnore): a document docs cannot read still gets filed, into the
// default category.
func submitDAG(ctx context.Context, h *host.Host, group string, files []*file, dest string, rules json.RawMessage, mode string) error {
	key := func(f *file, step string) string { return group + "/" + step + "/" + f.rel }
	stage := func(step string, spec func(f *file) host.JobSpec, set func(f *file, id string)) error {
		specs := make([]host.JobSpec, len(files))
		for i, f := range files {
			specs[i] = spec(f)
			specs[i].Group = group
			specs[i].Key = key(f, step)
		}
		ids, err := h.SubmitMany(ctx, specs)
		if err != nil {
			return fmt.Errorf("%s: %w", step, err)
		}
		for i, f := range files {
			set(f, ids[i])
		}
		return nil
	}
	if err := stage("inspect", func(f *file) host.JobSpec {
		return host.JobSpec{Task: "docs.inspect", Args: map[string]any{"path": f.path}}
	}, func(f *file, id string) { f.inspect = id }); err != nil {
		return err
	}
	if err := stage("categorize", func(f *file) host.JobSpec {
		return host.JobSpec{Task: "docs.categorize", Args: map[string]any{"path": f.path, "rules": rules},
			DependsOn: host.After(f.inspect)}
	}, func(f *file, id string) { f.cat = id }); err != nil {
		return err
	}
	return stage("organize", func(f *file) host.JobSpec {
		return host.JobSpec{Task: "docs.organize",
			Args:      map[string]any{"path": f.path, "dest": dest, "rules": rules, "mode": mode, "unreadable_to_default": true},
			DependsOn: []host.Dep{{Job: f.cat, Policy: host.DepIgnore}}}
	}, func(f *file, id string) { f.organz = id })
}

// watchProgress shows the group's progress until it is done: a line
// redrawn in place on a terminal, a line per 10% otherwise.
func watchProgress(ctx context.Context, h *host.Host, group string, out io.Writer) (*host.Group, error) {
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	events := h.Subscribe(sub, host.EventFilter{Groups: []string{group}, Types: []host.EventType{host.EventGroup}})
	tty := false
	if f, ok := out.(*os.File); ok {
		tty = isatty.IsTerminal(f.Fd())
	}
	lastDecile := -1
	show := func(st host.GroupStatus) {
		done := st.Counts[host.StateCompleted] + st.Counts[host.StateFailed] + st.Counts[host.StateCanceled]
		total := 0
		for _, n := range st.Counts {
			total += n
		}
		line := fmt.Sprintf("%3.0f%% %s %d/%d jobs finished, %d failed", st.Progress*100, bar(st.Progress, 30), done, total, st.Counts[host.StateFailed])
		if tty {
			fmt.Fprintf(out, "\r%s", line)
		} else if d := int(st.Progress * 10); d > lastDecile {
			lastDecile = d
			fmt.Fprintln(out, line)
		}
	}
	g, err := h.GetGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	for !g.Done {
		select {
		case e, ok := <-events:
			if !ok {
				return nil, errors.New("host closed")
			}
			if e.GroupStatus != nil {
				show(*e.GroupStatus)
			}
			if e.Type == host.EventLagged || (e.GroupStatus != nil && e.GroupStatus.Done) {
				if g, err = h.GetGroup(ctx, group); err != nil {
					return nil, err
				}
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if tty {
		fmt.Fprintln(out)
	}
	return h.WaitGroup(ctx, group)
}

func bar(f float64, width int) string {
	n := int(f * float64(width))
	return "[" + strings.Repeat("#", n) + strings.Repeat(" ", width-n) + "]"
}

// summarize prints one row per file and returns 0 if every file was
// filed, 1 otherwise.
func summarize(ctx context.Context, h *host.Host, g *host.Group, files []*file, dest string, out io.Writer) (int, error) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tCATEGORY\tACTION\tDESTINATION")
	code := 0
	for _, f := range files {
		var res struct {
			Category, Destination, Action string
		}
		err := h.Result(ctx, f.organz, &res)
		if err != nil {
			code = 1
			j, _ := h.Get(ctx, f.organz)
			why := err.Error()
			if j != nil && j.Error != nil {
				why = string(j.Error.Kind) + ": " + j.Error.Message
			}
			fmt.Fprintf(tw, "%s\t-\tfailed\t%s\n", f.rel, why)
			continue
		}
		rel, _ := filepath.Rel(dest, res.Destination)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.rel, res.Category, res.Action, rel)
	}
	tw.Flush()
	fmt.Fprintf(out, "run %s: %s (%d jobs)\n", g.ID, g.Outcome, len(files)*3)
	return code, nil
}
