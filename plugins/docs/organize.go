package docs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/batchhost/batchhost/sdk"
)

// What docs.organize did, as its result's action.
const (
	ActionCopied         = "copied"
	ActionMoved          = "moved"
	ActionAlreadyPresent = "already_present"
	ActionWouldCopy      = "would_copy"
	ActionWouldMove      = "would_move"
)

// maxSuffix bounds the numbered names tried on collisions (name-1.ext ...
// name-9999.ext).
const maxSuffix = 9999

// OrganizeArgs are docs.organize's arguments.
type OrganizeArgs struct {
	// Path is the document to file.
	Path string `json:"path"`
	// Dest is an existing directory; the document goes into
	// Dest/<category>/, which is created if needed.
	Dest string `json:"dest"`
	// Rules or RulesFile decide the category, as for docs.categorize.
	Rules     *Rules `json:"rules,omitempty"`
	RulesFile string `json:"rules_file,omitempty"`
	// Mode is "copy" (the default) or "move".
	Mode string `json:"mode,omitempty"`
	// DryRun reports what would be done and changes nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// UnreadableToDefault files a document whose text cannot be read (an
	// image, an unsupported or broken format) into the rules' default
	// category instead of failing with unsupported_format: organizing a
	// folder places every file.
	UnreadableToDefault bool `json:"unreadable_to_default,omitempty"`
}

// Validate refuses missing paths and an unknown mode before the task runs.
func (a OrganizeArgs) Validate() error {
	for _, err := range []error{checkPath("path", a.Path), checkPath("dest", a.Dest), checkOptionalPath("rules_file", a.RulesFile)} {
		if err != nil {
			return err
		}
	}
	switch {
	case a.Mode != "" && a.Mode != "copy" && a.Mode != "move":
		return fmt.Errorf(`mode must be "copy" or "move", got %q`, a.Mode)
	}
	return nil
}

// OrganizeResult is docs.organize's result.
type OrganizeResult struct {
	Category string `json:"category"`
	// Destination is the document's path inside Dest: where it was copied
	// or moved, where identical content already was, or (dry run) where
	// it would go.
	Destination string `json:"destination"`
	// Action is one of copied, moved, already_present (the destination
	// already held identical content; in move mode the source was then
	// removed, unless it already was that destination), would_copy or
	// would_move (dry run).
	Action string `json:"action"`
}

// crashAt lets tests stop an attempt at a named point, as a crash of the
// plugin would, to show that the retried attempt repairs it. Nil outside
// tests.
var crashAt func(point string)

func crashPoint(point string) {
	if crashAt != nil {
		crashAt(point)
	}
}

func organize(ctx context.Context, job *sdk.Job, in OrganizeArgs) (OrganizeResult, error) {
	rules, err := loadRules(in.Rules, in.RulesFile)
	if err != nil {
		return OrganizeResult{}, err
	}
	dest, err := destDir(in.Dest)
	if err != nil {
		return OrganizeResult{}, err
	}
	srcPath, err := filepath.Abs(in.Path)
	if err != nil {
		return OrganizeResult{}, sdk.InvalidArgs(fmt.Errorf("path %s: %w", in.Path, err))
	}
	o := &organizer{
		ctx: ctx, job: job, rules: rules, dest: dest, srcPath: srcPath,
		move: in.Mode == "move", dryRun: in.DryRun, unreadableToDefault: in.UnreadableToDefault,
		journal: journalFor(dest, job.ID(), srcPath),
	}
	return o.run()
}

// destDir checks that dest is an existing directory and returns it
// absolute. It is not created: a typo must not grow a new tree.
func destDir(dest string) (string, error) {
	abs, err := filepath.Abs(dest)
	if err != nil {
		return "", sdk.InvalidArgs(fmt.Errorf("dest %s: %w", dest, err))
	}
	info, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", sdk.InvalidArgs(fmt.Errorf("dest %s does not exist: create it first", abs))
	case err != nil:
		return "", sdk.InvalidArgs(fmt.Errorf("dest %s: %w", abs, err))
	case !info.IsDir():
		return "", sdk.InvalidArgs(fmt.Errorf("dest %s is not a directory", abs))
	}
	return abs, nil
}

// organizer is one attempt of docs.organize.
type organizer struct {
	ctx     context.Context
	job     *sdk.Job
	rules   *ruleSet
	dest    string
	srcPath string
	move    bool
	dryRun  bool
	journal journal
	// unreadableToDefault: see OrganizeArgs.UnreadableToDefault.
	unreadableToDefault bool
}

// run files the document. Idempotence on retry rests on three things:
// the destination is published only whole (a temporary file in the
// destination directory, synced, then hard-linked or renamed without
// replacing), an existing name holding identical content (size and
// SHA-256) counts as the document already filed, and a move first
// records in a journal where the document is going, so that a retry that
// finds the source gone can confirm the move happened.
func (o *organizer) run() (OrganizeResult, error) {
	var prior *journalEntry
	if o.move {
		prior = o.journal.read()
		if prior != nil && prior.Source == o.srcPath {
			if _, err := os.Lstat(o.srcPath); errors.Is(err, fs.ErrNotExist) {
				if ok, _ := sameContent(o.ctx, prior.Destination, prior.Size, prior.SHA256); ok {
					return OrganizeResult{Category: prior.Category, Destination: prior.Destination, Action: ActionMoved}, nil
				}
			}
		}
	}
	src, err := openSource(o.srcPath)
	if err != nil {
		return OrganizeResult{}, err
	}
	defer src.Close()
	sum, err := hashFile(o.ctx, o.job, src, 0, 0.3)
	if err != nil {
		return OrganizeResult{}, err
	}
	v, _, err := classify(o.ctx, o.job, o.srcPath, o.rules, 0.3, 0.6)
	if err != nil && o.unreadableToDefault && errors.Is(err, errUnreadable) {
		v, err = verdict{category: o.rules.fallback}, nil
	}
	if err != nil {
		return OrganizeResult{}, err
	}
	dir := filepath.Join(o.dest, v.category)
	res := OrganizeResult{Category: v.category}
	// Another writer can take a free name between the scan and the
	// publish; then scan again.
	for tries := 0; ; tries++ {
		s, err := findSlot(o.ctx, dir, src, sum)
		if err != nil {
			return OrganizeResult{}, err
		}
		res.Destination = s.path
		if s.present {
			res.Action = ActionAlreadyPresent
			if o.move && !s.isSource && !o.dryRun {
				if prior != nil && prior.Destination == s.path {
					res.Action = ActionMoved // finishing what an earlier attempt started
				}
				if err := removeSource(src.path); err != nil {
					return OrganizeResult{}, err
				}
			}
			return res, nil
		}
		if o.dryRun {
			res.Action = ActionWouldCopy
			if o.move {
				res.Action = ActionWouldMove
			}
			return res, nil
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return OrganizeResult{}, fmt.Errorf("create %s: %w", dir, err)
		}
		if o.move {
			err = o.moveTo(src, sum, v.category, s.path)
			res.Action = ActionMoved
		} else {
			err = o.copyTo(src, sum, s.path)
			res.Action = ActionCopied
		}
		if errors.Is(err, fs.ErrExist) && tries < 10 {
			continue
		}
		if err != nil {
			return OrganizeResult{}, err
		}
		return res, nil
	}
}

// slot is where the document goes: a free name, or a name that already
// holds identical content (present), possibly the source itself.
type slot struct {
	path     string
	present  bool
	isSource bool
}

// findSlot returns the first of dir/name, dir/name-1.ext, dir/name-2.ext
// ... that is free or already holds src's content.
func findSlot(ctx context.Context, dir string, src *source, sum string) (slot, error) {
	name := filepath.Base(src.path)
	for i := 0; i <= maxSuffix; i++ {
		cand := filepath.Join(dir, suffixed(name, i))
		info, err := os.Lstat(cand)
		if errors.Is(err, fs.ErrNotExist) {
			return slot{path: cand}, nil
		}
		if err != nil {
			return slot{}, fmt.Errorf("check %s: %w", cand, err)
		}
		if sameLocation(cand, src.path) {
			return slot{path: cand, present: true, isSource: true}, nil
		}
		if !info.Mode().IsRegular() || info.Size() != src.size() {
			continue
		}
		same, err := sameContent(ctx, cand, src.size(), sum)
		if err != nil {
			return slot{}, err
		}
		if same {
			return slot{path: cand, present: true}, nil
		}
	}
	return slot{}, sdk.Permanent(fmt.Errorf("%s: %s and %d numbered variants are all taken", dir, name, maxSuffix))
}

// suffixed returns name with "-i" before its extension ("a.txt" gives
// "a-1.txt"); i == 0 is name itself. A name that is all extension
// (".profile") gets the suffix at its end.
func suffixed(name string, i int) string {
	if i == 0 {
		return name
	}
	ext := filepath.Ext(name)
	stem := name[:len(name)-len(ext)]
	if stem == "" {
		stem, ext = name, ""
	}
	return fmt.Sprintf("%s-%d%s", stem, i, ext)
}

// sameLocation reports whether a and b name the same directory entry,
// even through a symlinked directory. (Two hard links to one file are
// different locations: the file is then present at both.)
func sameLocation(a, b string) bool {
	if filepath.Base(a) != filepath.Base(b) {
		return false
	}
	if filepath.Dir(a) == filepath.Dir(b) {
		return true
	}
	da, errA := os.Stat(filepath.Dir(a))
	db, errB := os.Stat(filepath.Dir(b))
	return errA == nil && errB == nil && os.SameFile(da, db)
}

// sameContent reports whether path is a regular file of the given size
// and SHA-256.
func sameContent(ctx context.Context, path string, size int64, sum string) (bool, error) {
	info, err := os.Lstat(path)
	if err != nil || !info.Mode().IsRegular() || info.Size() != size {
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, nil
	}
	defer f.Close()
	got, err := hashFile(ctx, nil, &source{path: path, f: f, info: info}, 0, 0)
	if err != nil {
		return false, err
	}
	return got == sum, nil
}

// removeSource removes the moved document's original and makes the
// removal durable.
func removeSource(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the moved source %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}
