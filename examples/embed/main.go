// Command embed organizes a folder with batchhost embedded in a Go program:
// every file goes through docs.inspect → docs.categorize → docs.organize,
// a small DAG per file, all in one group per run, with a live progress line
// and a summary table at the end. Stopped (Ctrl-C) or killed and run
// again with the same folders, it resumes the unfinished run instead of
// starting over.
//
//	go run ./examples/embed -src ~/Downloads -dest ~/Documents/sorted -plugins bin/plugins
//
// Ctrl-C reaches the program through go run. A kill -9 does not: it kills
// the go command and leaves the program running; to try a kill, build it
// (go build -o /tmp/embed ./examples/embed) and kill that.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	var o options
	flag.StringVar(&o.src, "src", "", "folder to organize (required)")
	flag.StringVar(&o.dest, "dest", "", "folder to file documents into, by category (required)")
	flag.StringVar(&o.rulesFile, "rules", "", "JSON rules file (default: built-in invoices/letters/notes/reports rules)")
	flag.StringVar(&o.mode, "mode", "copy", "copy or move")
	flag.StringVar(&o.pluginDir, "plugins", "bin/plugins", "directory holding batchhost-plugin-docs")
	flag.StringVar(&o.dataDir, "data", "", "batchhost data directory (default: <dest>/.batchhost)")
	flag.IntVar(&o.workers, "workers", 0, "jobs at once (default: number of CPUs)")
	flag.Parse()
	if o.src == "" || o.dest == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: embed -src DIR -dest DIR [-rules FILE] [-mode copy|move] [-plugins DIR] [-data DIR]")
		os.Exit(2)
	}
	os.Exit(run(o, os.Stdout))
}
