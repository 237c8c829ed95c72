package main

import (
	"testing"

	"github.com/batchhost/batchhost/internal/testbin"
)

// TestDemo runs the whole demo against the real chaos plugin, so that CI
// fails when anything the demo claims stops being true.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	if _, err := testbin.Build(dir, "batchhost-plugin-chaos", testbin.Chaos); err != nil {
		t.Fatal(err)
	}
	if code := run(dir, false); code != 0 {
		t.Fatalf("demo exited %d", code)
	}
}
