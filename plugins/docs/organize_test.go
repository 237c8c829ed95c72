package docs_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/plugins/docs"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

// tree lists the regular files under dir (relative, sorted) with their
// content, leaving out organize's journal; anything else found (a
// directory entry that is neither) fails the test.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".batchhost" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func organizeArgs(path, dest, mode string) docs.OrganizeArgs {
	return docs.OrganizeArgs{Path: path, Dest: dest, Rules: testRules, Mode: mode}
}

func organizeOK(t *testing.T, args docs.OrganizeArgs, opts ...sdktest.Option) docs.OrganizeResult {
	t.Helper()
	var out docs.OrganizeResult
	run(t, "organize", args, opts...).Decode(&out)
	return out
}

func TestOrganizeCopy(t *testing.T) {
	in, dest := t.TempDir(), t.TempDir()
	src := writeFile(t, in, "bill.txt", []byte("Invoice INV-0001"))
	mtime := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chmod(src, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(src, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	out := organizeOK(t, organizeArgs(src, dest, ""))
	want := docs.OrganizeResult{Category: "invoices", Destination: filepath.Join(dest, "invoices", "bill.txt"), Action: docs.ActionCopied}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"invoices/bill.txt": "Invoice INV-0001"}, tree(t, dest)); diff != "" {
		t.Errorf("dest (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("copy removed the source: %v", err)
	}
	info, err := os.Stat(want.Destination)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 || !info.ModTime().Equal(mtime) {
		t.Errorf("copy has mode %v, mtime %v; want 0640, %v", info.Mode().Perm(), info.ModTime(), mtime)
	}

	// The same content again, from another job: nothing new.
	again := organizeOK(t, organizeArgs(src, dest, "copy"), sdktest.WithJobID("another-job"))
	if again.Action != docs.ActionAlreadyPresent || again.Destination != want.Destination {
		t.Errorf("second copy: %+v, want already_present at %s", again, want.Destination)
	}
	if n := len(tree(t, dest)); n != 1 {
		t.Errorf("%d files in dest, want 1", n)
	}
}

func TestOrganizeCollisionsGetSuffixes(t *testing.T) {
	in, dest := t.TempDir(), t.TempDir()
	want := map[string]string{}
	for i, name := range []string{"bill.txt", "bill-1.txt", "bill-2.txt", "bill-3.txt"} {
		content := fmt.Sprintf("invoice number %d", i)
		src := writeFile(t, filepath.Join(in, fmt.Sprint(i)), "bill.txt", []byte(content))
		out := organizeOK(t, organizeArgs(src, dest, "copy"), sdktest.WithJobID(fmt.Sprint("job", i)))
		if out.Destination != filepath.Join(dest, "invoices", name) || out.Action != docs.ActionCopied {
			t.Errorf("file %d: %+v, want copied to invoices/%s", i, out, name)
		}
		want["invoices/"+name] = content
	}
	// An identical document finds its existing copy instead of a fifth name.
	dup := writeFile(t, in, "x/bill.txt", []byte("invoice number 2"))
	if out := organizeOK(t, organizeArgs(dup, dest, "copy"), sdktest.WithJobID("dup")); out.Action != docs.ActionAlreadyPresent || filepath.Base(out.Destination) != "bill-2.txt" {
		t.Errorf("duplicate: %+v, want already_present at bill-2.txt", out)
	}
	if diff := cmp.Diff(want, tree(t, dest)); diff != "" {
		t.Errorf("dest (-want +got):\n%s", diff)
	}
}

func TestOrganizeMove(t *testing.T) {
	in, dest := t.TempDir(), t.TempDir()
	src := writeFile(t, in, "letter.txt", []byte("Dear Anna, sincerely"))
	out := organizeOK(t, organizeArgs(src, dest, "move"))
	want := docs.OrganizeResult{Category: "letters", Destination: filepath.Join(dest, "letters", "letter.txt"), Action: docs.ActionMoved}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("the source is still there after a move: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"letters/letter.txt": "Dear Anna, sincerely"}, tree(t, dest)); diff != "" {
		t.Errorf("dest (-want +got):\n%s", diff)
	}
	// Another job moving the same (now missing) path is refused.
	wantErr(t, run(t, "organize", organizeArgs(src, dest, "move"), sdktest.WithJobID("late")), "invalid_args", src, "does not exist")
}

func TestOrganizeMoveOfAFileAlreadyInPlace(t *testing.T) {
	dest := t.TempDir()
	src := writeFile(t, dest, "invoices/bill.txt", []byte("invoice"))
	out := organizeOK(t, organizeArgs(src, dest, "move"))
	if out.Action != docs.ActionAlreadyPresent || out.Destination != src {
		t.Errorf("%+v, want already_present at the source itself", out)
	}
	if diff := cmp.Diff(map[string]string{"invoices/bill.txt": "invoice"}, tree(t, dest)); diff != "" {
		t.Errorf("dest (-want +got):\n%s", diff)
	}
}

func TestOrganizeMoveOfADuplicateRemovesTheSource(t *testing.T) {
	in, dest := t.TempDir(), t.TempDir()
	writeFile(t, dest, "invoices/bill.txt", []byte("invoice"))
	src := writeFile(t, in, "bill.txt", []byte("invoice"))
	out := organizeOK(t, organizeArgs(src, dest, "move"))
	if out.Action != docs.ActionAlreadyPresent || out.Destination != filepath.Join(dest, "invoices", "bill.txt") {
		t.Errorf("%+v, want already_present at invoices/bill.txt", out)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("the moved duplicate is still at its source: %v", err)
	}
}

func TestOrganizeDryRun(t *testing.T) {
	in, dest := t.TempDir(), t.TempDir()
	writeFile(t, dest, "invoices/bill.txt", []byte("an older, different invoice"))
	src := writeFile(t, in, "bill.txt", []byte("invoice 2"))
	before := tree(t, dest)
	for mode, action := range map[string]string{"copy": docs.ActionWouldCopy, "move": docs.ActionWouldMove} {
		args := organizeArgs(src, dest, mode)
		args.DryRun = true
		out := organizeOK(t, args)
		want := docs.OrganizeResult{Category: "invoices", Destination: filepath.Join(dest, "invoices", "bill-1.txt"), Action: action}
		if diff := cmp.Diff(want, out); diff != "" {
			t.Errorf("%s (-want +got):\n%s", mode, diff)
		}
	}
	// Into a category whose directory does not exist yet: still nothing made.
	other := writeFile(t, in, "note.txt", []byte("nothing matches"))
	args := organizeArgs(other, dest, "move")
	args.DryRun = true
	if out := organizeOK(t, args); out.Destination != filepath.Join(dest, "misc", "note.txt") || out.Action != docs.ActionWouldMove {
		t.Errorf("%+v, want would_move to misc/note.txt", out)
	}
	if diff := cmp.Diff(before, tree(t, dest)); diff != "" {
		t.Errorf("dry run changed dest (-before +after):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dest, ".batchhost")); !os.IsNotExist(err) {
		t.Errorf("dry run wrote a journal: %v", err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("dry run moved the source: %v", err)
	}
}

func TestOrganizeBadArgs(t *testing.T) {
	in, dest := t.TempDir(), t.TempDir()
	src := writeFile(t, in, "a.txt", []byte("invoice"))
	wantErr(t, run(t, "organize", organizeArgs(src, filepath.Join(dest, "nope"), "copy")), "invalid_args", "nope", "does not exist")
	wantErr(t, run(t, "organize", organizeArgs(src, src, "copy")), "invalid_args", src, "not a directory")
	wantErr(t, run(t, "organize", organizeArgs(src, dest, "link")), "invalid_args", `"link"`)
	wantErr(t, run(t, "organize", json.RawMessage(`{"path":"`+src+`","rules":{"categories":[{"name":"a","keywords":["x"]}]}}`)), "invalid_args", "dest is empty")
	wantErr(t, run(t, "organize", organizeArgs(writeFile(t, in, "b.png", pngBytes), dest, "move")), "unsupported_format", ".png")
	if got := tree(t, dest); len(got) != 0 {
		t.Errorf("refused organizes wrote %v", got)
	}
}

// TestOrganizeIdempotentUnderRetry crashes an attempt at each point where
// a crash leaves something behind, then retries it as the host would (the
// same job, the next attempt): exactly one copy ends up in the
// destination, nothing temporary is left, and a move leaves no source.
func TestOrganizeIdempotentUnderRetry(t *testing.T) {
	tests := []struct {
		mode, point string
		action      string // of the retried attempt
	}{
		{"copy", "written", docs.ActionCopied},        // temporary file synced, not yet published
		{"copy", "placed", docs.ActionAlreadyPresent}, // copied, the result never sent
		{"move", "journaled", docs.ActionMoved},       // destination chosen, nothing moved
		{"move", "placed", docs.ActionMoved},          // linked into place, the source still there
		{"move", "removed", docs.ActionMoved},         // moved, the result never sent
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.point, func(t *testing.T) {
			in, dest := t.TempDir(), t.TempDir()
			// A different document already holds the name: the retry must
			// not take it for its own copy, nor skip to a third name.
			writeFile(t, dest, "invoices/bill.txt", []byte("someone else's invoice"))
			src := writeFile(t, in, "bill.txt", []byte("invoice INV-0042"))
			args := organizeArgs(src, dest, tt.mode)

			crashed := false
			restore := docs.SetCrashAt(func(point string) {
				if point == tt.point {
					crashed = true
					panic("simulated crash at " + point)
				}
			})
			res := run(t, "organize", args, sdktest.WithJobID("job-1"), sdktest.WithAttempt(1))
			restore()
			if !crashed || res.Err == nil || res.Err.Kind != "plugin_crashed" {
				t.Fatalf("first attempt: crashed=%v err=%v, want a crash at %s", crashed, res.Err, tt.point)
			}

			out := organizeOK(t, args, sdktest.WithJobID("job-1"), sdktest.WithAttempt(2))
			want := docs.OrganizeResult{Category: "invoices", Destination: filepath.Join(dest, "invoices", "bill-1.txt"), Action: tt.action}
			if diff := cmp.Diff(want, out); diff != "" {
				t.Errorf("retry (-want +got):\n%s", diff)
			}
			wantTree := map[string]string{"invoices/bill.txt": "someone else's invoice", "invoices/bill-1.txt": "invoice INV-0042"}
			if diff := cmp.Diff(wantTree, tree(t, dest)); diff != "" {
				t.Errorf("dest after the retry (-want +got):\n%s", diff)
			}
			_, err := os.Stat(src)
			if gone := os.IsNotExist(err); gone != (tt.mode == "move") {
				t.Errorf("source gone = %v after a %s", gone, tt.mode)
			}

			// A third attempt (the host lost the second result too) changes
			// nothing either.
			third := organizeOK(t, args, sdktest.WithJobID("job-1"), sdktest.WithAttempt(3))
			if third.Destination != want.Destination {
				t.Errorf("third attempt: %+v", third)
			}
			if diff := cmp.Diff(wantTree, tree(t, dest)); diff != "" {
				t.Errorf("dest after a third attempt (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOrganizeConcurrentSameName: jobs filing different documents of one
// name at once each get their own name, none overwritten.
func TestOrganizeConcurrentSameName(t *testing.T) {
	in, dest := t.TempDir(), t.TempDir()
	const n = 6
	t.Run("group", func(t *testing.T) {
		for i := range n {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				src := writeFile(t, filepath.Join(in, fmt.Sprint(i)), "bill.txt", []byte(fmt.Sprint("invoice ", i)))
				organizeOK(t, organizeArgs(src, dest, "copy"), sdktest.WithJobID(fmt.Sprint("job", i)))
			})
		}
	})
	got := tree(t, dest)
	var contents []string
	for _, c := range got {
		contents = append(contents, c)
	}
	slices.Sort(contents)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprint("invoice ", i))
	}
	if diff := cmp.Diff(want, contents); diff != "" {
		t.Errorf("contents in dest (-want +got):\n%s\nfiles: %v", diff, got)
	}
}

// TestOrganizeMoveAcrossFilesystems: where no hard link can reach the
// destination, a move copies and removes the source, with the same
// idempotence on retry.
func TestOrganizeMoveAcrossFilesystems(t *testing.T) {
	in, err := os.MkdirTemp("/dev/shm", "docs-test-")
	if err != nil {
		t.Skipf("no tmpfs to move from: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(in) })
	dest := t.TempDir()
	if a, b := devOf(t, in), devOf(t, dest); a == b {
		t.Skip("/dev/shm and the test's temporary directory are one filesystem")
	}
	src := writeFile(t, in, "bill.txt", []byte("invoice across"))
	restore := docs.SetCrashAt(func(point string) {
		if point == "placed" {
			panic("simulated crash after the copy")
		}
	})
	res := run(t, "organize", organizeArgs(src, dest, "move"), sdktest.WithJobID("x"))
	restore()
	if res.Err == nil || res.Err.Kind != "plugin_crashed" {
		t.Fatalf("first attempt: %v, want the simulated crash", res.Err)
	}
	out := organizeOK(t, organizeArgs(src, dest, "move"), sdktest.WithJobID("x"), sdktest.WithAttempt(2))
	if out.Action != docs.ActionMoved || out.Destination != filepath.Join(dest, "invoices", "bill.txt") {
		t.Errorf("retry: %+v", out)
	}
	if diff := cmp.Diff(map[string]string{"invoices/bill.txt": "invoice across"}, tree(t, dest)); diff != "" {
		t.Errorf("dest (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("the source is still there: %v", err)
	}
}

func TestOrganizeUnreadableToDefault(t *testing.T) {
	in, dest := t.TempDir(), t.TempDir()
	img := writeFile(t, in, "photo.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR binary"))
	// Without the option an unreadable document fails, permanently.
	res := run(t, "organize", organizeArgs(img, dest, ""))
	if res.Err == nil || res.Err.Kind != "unsupported_format" {
		t.Fatalf("without the option: %+v", res.Err)
	}
	args := organizeArgs(img, dest, "")
	args.UnreadableToDefault = true
	out := organizeOK(t, args)
	if out.Category != testRules.Default || out.Action != docs.ActionCopied || out.Destination != filepath.Join(dest, testRules.Default, "photo.png") {
		t.Fatalf("with the option: %+v", out)
	}
	// A missing file is still an error: the option is about formats only.
	args.Path = filepath.Join(in, "gone.txt")
	if res := run(t, "organize", args); res.Err == nil || res.Err.Kind != "invalid_args" {
		t.Fatalf("missing file with the option: %+v", res.Err)
	}
}
