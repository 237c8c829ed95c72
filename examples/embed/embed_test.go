package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/batchhost/batchhost/internal/testbin"
)

var pluginDir, embedBin string

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "bh-embed-test-")
	if err == nil {
		pluginDir, err = testbin.PluginDir(tmp, map[string]string{"docs": testbin.Docs})
	}
	if err == nil {
		embedBin, err = testbin.Build(tmp, "embed", "github.com/batchhost/batchhost/examples/embed")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// filed lists the files under dest (relative), leaving out batchhost's
// own state and organize's journal.
func filed(t *testing.T, dest string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dest, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestOrganizesAFolder(t *testing.T) {
	src, dest := t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{
		"bill.txt":        "Invoice INV-0042\nAmount due: 100 EUR\n",
		"notes.md":        "# Meeting notes\n\n- todo: ship it\n",
		"sub/letter.html": "<p>Dear Anna,</p><p>Kind regards</p>",
		"photo.png":       "\x89PNG\r\n\x1a\nbinary",
		".hidden":         "not organized",
	})
	var out bytes.Buffer
	if code := run(options{src: src, dest: dest, pluginDir: pluginDir, mode: "copy", workers: 2}, &out); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	got := strings.Join(filed(t, dest), ",")
	want := "invoices/bill.txt,letters/letter.html,notes/notes.md,other/photo.png"
	if got != want {
		t.Fatalf("filed %s, want %s\n%s", got, want, out.String())
	}
	for _, row := range []string{"bill.txt", "invoices", "sub/letter.html", "photo.png", "FILE"} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("summary lacks %q:\n%s", row, out.String())
		}
	}
	// A second run starts a new run; everything is already in place.
	out.Reset()
	if code := run(options{src: src, dest: dest, pluginDir: pluginDir, mode: "copy"}, &out); code != 0 || !strings.Contains(out.String(), "already_present") {
		t.Fatalf("second run, exit %d:\n%s", code, out.String())
	}
	if n := len(filed(t, dest)); n != 4 {
		t.Fatalf("%d files after the second run, want 4", n)
	}
}

// TestResumesAfterAKill kills the program (SIGKILL) right after its DAG
// is submitted and runs it again: the second run resumes the same run
// (no new jobs) and every file ends up filed exactly once.
func TestResumesAfterAKill(t *testing.T) {
	src, dest := t.TempDir(), t.TempDir()
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("doc%02d.txt", i)] = fmt.Sprintf("Invoice INV-%04d\nreport %d\n", i, i)
	}
	writeFiles(t, src, files)
	cmd := exec.Command(embedBin, "-src", src, "-dest", dest, "-plugins", pluginDir, "-workers", "1")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "submitted" {
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	before := len(filed(t, dest))

	var out bytes.Buffer
	if code := run(options{src: src, dest: dest, pluginDir: pluginDir, mode: "copy", workers: 2}, &out); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "resuming the unfinished run") {
		t.Fatalf("the second run did not resume (%d of 40 were filed before the kill):\n%s", before, out.String())
	}
	got := filed(t, dest)
	if len(got) != 40 {
		t.Fatalf("%d files filed, want 40 (each exactly once): %v", len(got), got)
	}
	for _, f := range got {
		if !strings.HasPrefix(f, "invoices/doc") || strings.Contains(f, "-1.txt") {
			t.Errorf("unexpected file %s", f)
		}
	}
	t.Logf("%d of 40 filed before the kill", before)
}

// TestInterruptSaysHowToResume: Ctrl-C (SIGINT) stops the program with
// a line saying that the run is kept and how to resume it, and running
// it again resumes.
func TestInterruptSaysHowToResume(t *testing.T) {
	src, dest := t.TempDir(), t.TempDir()
	files := map[string]string{}
	for i := range 300 {
		files[fmt.Sprintf("doc%03d.txt", i)] = fmt.Sprintf("Invoice INV-%04d\n", i)
	}
	writeFiles(t, src, files)
	cmd := exec.Command(embedBin, "-src", src, "-dest", dest, "-plugins", pluginDir, "-workers", "1")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if sc.Text() == "submitted" {
			cmd.Process.Signal(os.Interrupt)
		}
	}
	err := cmd.Wait()
	out := strings.Join(lines, "\n")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130 after SIGINT:\n%s", err, out)
	}
	if !strings.Contains(out, "Ctrl-C stops; run the same command again to resume") || !strings.Contains(out, "is kept: run the same command again to resume it") {
		t.Fatalf("the output does not say how to stop and resume:\n%s", out)
	}
	var again bytes.Buffer
	if code := run(options{src: src, dest: dest, pluginDir: pluginDir, mode: "copy", workers: 2}, &again); code != 0 || !strings.Contains(again.String(), "resuming the unfinished run") {
		t.Fatalf("rerun: exit %d:\n%s", code, again.String())
	}
}
