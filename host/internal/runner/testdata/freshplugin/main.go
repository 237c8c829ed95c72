// A plugin that asks for a fresh process per attempt and reports its pid.
package main

import (
	"context"
	"os"

	"github.com/batchhost/batchhost/sdk"
)

type none struct{}

type pid struct {
	PID int `json:"pid"`
}

func main() {
	sdk.Serve(sdk.Plugin{Name: "fresh", Version: "0.0.1", FreshProcessPerAttempt: true, Tasks: []sdk.Task{
		sdk.NewTask("pid", "Returns the plugin's process id", func(context.Context, *sdk.Job, none) (pid, error) {
			return pid{PID: os.Getpid()}, nil
		}),
	}})
}
