// A plugin to rebuild: its version is set at build time (-X
// main.version), and version 2 offers task "new" where version 1 offered
// "old". Tests swap one build for the other and reload.
package main

import (
	"context"
	"os"

	"github.com/batchhost/batchhost/sdk"
)

var version = "1.0.0"

type none struct{}

type out struct {
	Version string `json:"version"`
	PID     int    `json:"pid"`
}

type blockArgs struct {
	// FIFO is a named pipe the task reads to its end: the test releases
	// the task by writing to it and closing it.
	FIFO string `json:"fifo"`
}

func here(context.Context, *sdk.Job, none) (out, error) {
	return out{Version: version, PID: os.Getpid()}, nil
}

func block(_ context.Context, job *sdk.Job, in blockArgs) (out, error) {
	job.Log().Info("blocking", "pid", os.Getpid())
	if _, err := os.ReadFile(in.FIFO); err != nil {
		return out{}, err
	}
	return out{Version: version, PID: os.Getpid()}, nil
}

func main() {
	tasks := []sdk.Task{
		sdk.NewTask("version", "Returns the plugin's version and pid", here),
		sdk.NewTask("block", `Reads the named pipe {"fifo"} to its end, then returns the version and pid`, block),
	}
	if version == "1.0.0" {
		tasks = append(tasks, sdk.NewTask("old", "Offered by version 1 only", here))
	} else {
		tasks = append(tasks, sdk.NewTask("new", "Offered by later versions only", here))
	}
	sdk.Serve(sdk.Plugin{Name: "swap", Version: version, Tasks: tasks})
}
