package docs_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/plugins/docs"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

func TestConformance(t *testing.T) { sdktest.Conformance(t, docs.Plugin()) }

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		file      string
		content   []byte
		mediaType string
	}{
		{"a.txt", []byte("hello\n"), "text/plain; charset=utf-8"},
		{"empty.txt", nil, "text/plain; charset=utf-8"},
		{"notes.md", []byte("# Title\n"), "text/markdown; charset=utf-8"},
		{"t.csv", []byte("a,b\n1,2\n"), "text/csv; charset=utf-8"},
		{"d.json", []byte(`{"a":1}`), "application/json; charset=utf-8"},
		{"p.html", []byte("<!DOCTYPE html><p>x"), "text/html; charset=utf-8"},
		{"w.docx", makeDOCX(t, wp("x")), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"o.odt", makeODT(t, "<text:p>x</text:p>"), "application/vnd.oasis.opendocument.text"},
		{"p.pdf", makePDF(t, []string{"x"}), "application/pdf"},
		{"plain.zip", makeZip(t, zipEntry{name: "a.txt", body: "x"}), "application/zip"},
		{"blob.bin", binaryBytes, "application/octet-stream"},
		{"pic.png", pngBytes, "image/png"},
		// Content wins over a misleading name.
		{"really-a-pdf.txt", makePDF(t, []string{"x"}), "application/pdf"},
		{"really-text.md.docx", []byte("plain"), "text/plain; charset=utf-8"},
		{"unicode-ünï.txt", []byte("日本語"), "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p := writeFile(t, dir, tt.file, tt.content)
			mtime := time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
			var out docs.InspectResult
			run(t, "inspect", docs.InspectArgs{Path: p}).Decode(&out)
			sum := sha256.Sum256(tt.content)
			want := docs.InspectResult{Path: p, Size: int64(len(tt.content)), SHA256: hex.EncodeToString(sum[:]), MediaType: tt.mediaType, Modified: mtime}
			if diff := cmp.Diff(want, out, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestRelativePathsRefused: a relative path would be taken from the
// plugin's working directory, the host's, and name another file than the
// submitter meant; every task refuses one in every path field, naming it,
// even when the file exists there.
func TestRelativePathsRefused(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "rel.txt", []byte("x"))
	t.Chdir(dir)
	abs := filepath.Join(dir, "rel.txt")
	rules := map[string]any{"categories": []map[string]any{{"name": "a", "keywords": []string{"x"}}}}
	cases := []struct {
		task string
		args map[string]any
		want string
	}{
		{"inspect", map[string]any{"path": "rel.txt"}, `path "rel.txt" is relative; give an absolute path`},
		{"extract", map[string]any{"path": "rel.txt"}, `path "rel.txt" is relative`},
		{"analyze", map[string]any{"path": "./rel.txt"}, `path "./rel.txt" is relative`},
		{"categorize", map[string]any{"path": "rel.txt", "rules": rules}, `path "rel.txt" is relative`},
		{"categorize", map[string]any{"path": abs, "rules_file": "rules.json"}, `rules_file "rules.json" is relative`},
		{"organize", map[string]any{"path": "rel.txt", "dest": dir, "rules": rules}, `path "rel.txt" is relative`},
		{"organize", map[string]any{"path": abs, "dest": "out", "rules": rules}, `dest "out" is relative`},
		{"organize", map[string]any{"path": abs, "dest": dir, "rules_file": "r.json"}, `rules_file "r.json" is relative`},
	}
	for _, c := range cases {
		wantErr(t, run(t, c.task, c.args), "invalid_args", c.want)
	}
}
