// Command batchhost runs a batchhost daemon and drives it: submit, watch,
// cancel, pause, retry, inspect and benchmark jobs. Run "batchhost --help".
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
