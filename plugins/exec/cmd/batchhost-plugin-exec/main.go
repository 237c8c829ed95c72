// Command batchhost-plugin-exec runs commands as jobs; see package
// github.com/batchhost/batchhost/plugins/exec.
package main

import (
	"github.com/batchhost/batchhost/plugins/exec"
	"github.com/batchhost/batchhost/sdk"
)

func main() { sdk.Serve(exec.Plugin()) }
