// Command batchhost-plugin-wordfreq is a complete third-party batchhost
// plugin, written as a plugin author would: typed args, progress reports,
// a log, and errors that tell the host whether a retry can help. Copy this
// directory to start your own; see README.md.
package main

import "github.com/batchhost/batchhost/sdk"

func main() { sdk.Serve(plugin()) }

// plugin is the plugin's declaration; main serves it, the tests run it
// through sdktest.
func plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:    "wordfreq",
		Version: "1.0.0",
		Tasks: []sdk.Task{
			sdk.NewTask("count", `Counts the words of {"text"} or of the file {"path"} and returns the most frequent`, count),
		},
	}
}
