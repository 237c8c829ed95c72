package docs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/batchhost/batchhost/plugins/docs"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

// benchFile writes size bytes of English prose to a file for benchmarks.
func benchFile(b *testing.B, size int) string {
	b.Helper()
	text := []byte(samples["en"] + "\n")
	content := bytes.Repeat(text, size/len(text)+1)[:size]
	p := filepath.Join(b.TempDir(), "bench.txt")
	if err := os.WriteFile(p, content, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// benchTask runs task on a file of size bytes through the real protocol
// and reports throughput in MB/s.
func benchTask(b *testing.B, task string, size int, args func(path string) any) {
	p := benchFile(b, size)
	a := args(p)
	b.SetBytes(int64(size))
	b.ResetTimer()
	for b.Loop() {
		if res := sdktest.Run(b, docs.Plugin(), task, a); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
}

func BenchmarkInspect50MB(b *testing.B) {
	benchTask(b, "inspect", 50<<20, func(p string) any { return docs.InspectArgs{Path: p} })
}

func BenchmarkAnalyze10MB(b *testing.B) {
	benchTask(b, "analyze", 10<<20, func(p string) any { return docs.AnalyzeArgs{Path: p} })
}

func BenchmarkCategorize10MB(b *testing.B) {
	benchTask(b, "categorize", 10<<20, func(p string) any { return docs.CategorizeArgs{Path: p, Rules: testRules} })
}

func BenchmarkAnalyzeSmall(b *testing.B) {
	benchTask(b, "analyze", 4<<10, func(p string) any { return docs.AnalyzeArgs{Path: p} })
}
