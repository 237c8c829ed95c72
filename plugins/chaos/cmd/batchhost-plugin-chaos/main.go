// Command batchhost-plugin-chaos is the chaos test plugin; see package
// github.com/batchhost/batchhost/plugins/chaos.
package main

import (
	"github.com/batchhost/batchhost/plugins/chaos"
	"github.com/batchhost/batchhost/sdk"
)

func main() {
	defer chaos.Profile()()
	sdk.Serve(chaos.Plugin())
}
