// Command batchhost-plugin-docs is the document plugin; see package
// github.com/batchhost/batchhost/plugins/docs.
package main

import (
	"github.com/batchhost/batchhost/plugins/docs"
	"github.com/batchhost/batchhost/sdk"
)

func main() { sdk.Serve(docs.Plugin()) }
