package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/sdk/sdktest"
)

// TestConformance checks what every plugin must do: describe itself,
// refuse unknown tasks and malformed args cleanly.
func TestConformance(t *testing.T) { sdktest.Conformance(t, plugin()) }

func TestCountText(t *testing.T) {
	res := sdktest.Run(t, plugin(), "count", CountArgs{Text: "The cat, the hat; THE bat! Don't cat.", Top: 3})
	var got CountResult
	res.Decode(&got)
	want := CountResult{Words: 8, Unique: 5, Top: []WordCount{{"the", 3}, {"cat", 2}, {"bat", 1}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if logs := res.Logs(); len(logs) != 1 || logs[0].Fields["words"] != 8.0 {
		t.Errorf("logs %+v", logs)
	}
}

func TestCountFileReportsProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.txt")
	text := strings.Repeat("alpha beta gamma beta ", 50_000) // about 1.1 MB
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	res := sdktest.Run(t, plugin(), "count", CountArgs{Path: path, Top: 2})
	var got CountResult
	res.Decode(&got)
	want := CountResult{Words: 200_000, Unique: 3, Top: []WordCount{{"beta", 100_000}, {"alpha", 50_000}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	p := res.Progress()
	if len(p) < 5 || p[len(p)-1].Fraction != 1 {
		t.Fatalf("%d progress reports ending at %v; want several, ending at 1", len(p), p[len(p)-1])
	}
	for i := 1; i < len(p); i++ {
		if p[i].Fraction < p[i-1].Fraction {
			t.Errorf("progress went back from %v to %v", p[i-1].Fraction, p[i].Fraction)
		}
	}
}

func TestCountErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.txt")
	tests := []struct {
		name string
		args any
		kind string
		msg  string
	}{
		{"no words", CountArgs{Text: " ... !!! "}, "permanent", "no words"},
		{"empty file", CountArgs{Path: empty}, "permanent", "no words"},
		{"missing file", CountArgs{Path: missing}, "permanent", missing},
		{"directory", CountArgs{Path: dir}, "permanent", "is a directory"},
		{"neither", CountArgs{}, "invalid_args", `give "text" or "path"`},
		{"both", CountArgs{Text: "a", Path: empty}, "invalid_args", "not both"},
		{"top too big", CountArgs{Text: "a", Top: 5000}, "invalid_args", "top must be"},
		{"typo", map[string]string{"txt": "a"}, "invalid_args", `unknown field "txt"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := sdktest.Run(t, plugin(), "count", tt.args)
			if res.Err == nil || res.Err.Kind != tt.kind || res.Err.Retryable {
				t.Fatalf("err = %+v, want kind %s, not retryable", res.Err, tt.kind)
			}
			if !strings.Contains(res.Err.Message, tt.msg) {
				t.Errorf("message %q does not contain %q", res.Err.Message, tt.msg)
			}
		})
	}
}
