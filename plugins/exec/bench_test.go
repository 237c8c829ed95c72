package exec_test

import (
	"testing"

	"github.com/batchhost/batchhost/plugins/exec"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

// BenchmarkRunTrue measures one exec.run of /bin/true through the real
// protocol (in-process): the plugin's overhead per command, process
// start included.
func BenchmarkRunTrue(b *testing.B) {
	for b.Loop() {
		if res := sdktest.Run(b, exec.Plugin(), "run", exec.RunArgs{Argv: []string{"true"}}); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
}

// BenchmarkRunLines measures streaming: seq writes 10000 lines, each a log
// record on the attempt's stream.
func BenchmarkRunLines(b *testing.B) {
	for b.Loop() {
		if res := sdktest.Run(b, exec.Plugin(), "run", exec.RunArgs{Argv: []string{"seq", "10000"}}); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
}
