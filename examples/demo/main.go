// Command demo is the seed's demo.py in Go: it runs batchhost on the
// embedded bbolt store in a temporary directory and narrates what it
// shows — priorities overtaking, a sequential group with cancel-on-failure,
// a dependency chain, a crashing plugin retried while other jobs go on, a
// paused and resumed job, and a restart that loses nothing. It exits
// non-zero if anything it claims did not happen.
//
//	scripts/demo.sh            # builds the plugins, then runs this
//	go run ./examples/demo -plugins bin/plugins
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/batchhost/batchhost/host"
)

func main() {
	pluginDir := flag.String("plugins", "bin/plugins", "directory holding batchhost-plugin-chaos")
	keep := flag.Bool("keep", false, "keep the data directory")
	flag.Parse()
	os.Exit(run(*pluginDir, *keep))
}

func run(pluginDir string, keep bool) int {
	dataDir, err := os.MkdirTemp("", "batchhost-demo-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 2
	}
	if !keep {
		defer os.RemoveAll(dataDir)
	}
	d := &demo{
		ctx: context.Background(),
		cfg: host.Config{DataDir: dataDir, PluginDir: pluginDir, MaxWorkers: 2,
			DefaultBackoff: &host.Backoff{Initial: 200 * time.Millisecond, Multiplier: 2, Max: 2 * time.Second}},
	}
	fmt.Printf("batchhost demo — data in %s, plugins from %s, 2 workers\n", dataDir, pluginDir)
	if err := d.open(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 2
	}
	start := time.Now()
	for _, step := range []struct {
		title string
		fn    func(*demo) error
	}{
		{"Priorities: critical overtakes high, high overtakes low", (*demo).priorities},
		{"A sequential group with cancel-on-failure", (*demo).sequentialGroup},
		{"A dependency chain passes its order on", (*demo).chain},
		{"A crashing plugin is retried while other jobs go on", (*demo).crash},
		{"A running job paused and resumed", (*demo).pauseResume},
		{"A restart in the middle of work loses nothing", (*demo).restart},
	} {
		fmt.Printf("\n== %s\n", step.title)
		if err := step.fn(d); err != nil {
			d.fail("%v", err)
		}
	}
	d.h.Close()
	fmt.Printf("\n%d checks passed, %d failed, in %s\n", d.passed, d.failed, time.Since(start).Round(time.Millisecond))
	if d.failed > 0 {
		return 1
	}
	return 0
}

type demo struct {
	ctx            context.Context
	cfg            host.Config
	h              *host.Host
	passed, failed int
}

func (d *demo) open() error {
	h, err := host.Open(d.cfg)
	if err != nil {
		return err
	}
	for _, p := range h.Problems() {
		fmt.Println("  warning:", p)
	}
	d.h = h
	return h.Start(d.ctx)
}

func (d *demo) say(format string, args ...any) { fmt.Printf("   "+format+"\n", args...) }

func (d *demo) check(ok bool, format string, args ...any) {
	if ok {
		d.passed++
		fmt.Printf("  ✓ "+format+"\n", args...)
		return
	}
	d.fail(format, args...)
}

func (d *demo) fail(format string, args ...any) {
	d.failed++
	fmt.Printf("  ✗ "+format+"\n", args...)
}

// submit submits a job, naming it for the narration.
func (d *demo) submit(spec host.JobSpec) (string, error) {
	return d.h.Submit(d.ctx, spec)
}

func (d *demo) wait(id string) (*host.Job, error) {
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	return d.h.Wait(ctx, id)
}

func sleep(ms int) host.JobSpec {
	return host.JobSpec{Task: "chaos.sleep", Args: map[string]int{"ms": ms}}
}
