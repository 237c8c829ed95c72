package chaos

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/batchhost/batchhost/sdk"
)

type panicArgs struct {
	Message string `json:"message"`
}

// panicTask panics in the task's goroutine. In a plugin binary this kills
// the process with the Go trace on stderr; under sdktest it becomes a
// plugin_crashed result.
func panicTask(_ context.Context, _ *sdk.Job, in panicArgs) (empty, error) {
	msg := in.Message
	if msg == "" {
		msg = "chaos: planned panic"
	}
	panic(msg)
}

type exitArgs struct {
	// Code is a pointer so that an explicit 0 differs from "absent" (1).
	Code *int `json:"code"`
}

func (a exitArgs) Validate() error {
	if a.Code != nil && (*a.Code < 0 || *a.Code > 255) {
		return fmt.Errorf("code must be between 0 and 255, got %d", *a.Code)
	}
	return nil
}

// exit ends the process at once, like a plugin calling os.Exit or log.Fatal.
func exit(_ context.Context, _ *sdk.Job, in exitArgs) (empty, error) {
	code := 1
	if in.Code != nil {
		code = *in.Code
	}
	fmt.Fprintf(os.Stderr, "chaos: exiting with code %d\n", code)
	os.Exit(code)
	return empty{}, errNoResult
}

// kill SIGKILLs its own process: no deferred code, no trace, like the
// kernel's OOM killer.
func kill(context.Context, *sdk.Job, empty) (empty, error) {
	p, err := os.FindProcess(os.Getpid())
	if err != nil {
		return empty{}, err
	}
	if err := p.Kill(); err != nil {
		return empty{}, fmt.Errorf("chaos: kill myself: %w", err)
	}
	// The signal is asynchronous; wait for it rather than returning a
	// result that would race the kill.
	for {
		time.Sleep(time.Hour)
	}
}

// hang ignores its ctx and never returns, like a task stuck in a call that
// takes no context. It sleeps in a loop rather than blocking on a channel:
// a sleeping goroutine is never mistaken for a deadlock by the runtime.
func hang(context.Context, *sdk.Job, empty) (empty, error) {
	for {
		time.Sleep(time.Hour)
	}
}
