package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/batchhost/batchhost/sdk"
)

type GreetArgs struct {
	Name string `json:"name"`
}

type GreetResult struct {
	Greeting string `json:"greeting"`
}

func greet(_ context.Context, job *sdk.Job, in GreetArgs) (GreetResult, error) {
	if in.Name == "" {
		return GreetResult{}, sdk.InvalidArgs(errors.New("name is required"))
	}
	job.Log().Info("greeting", "name", in.Name)
	return GreetResult{Greeting: "hello, " + in.Name}, nil
}

// A plugin's whole main: Serve never returns until the host stops it.
func ExampleServe() {
	sdk.Serve(sdk.Plugin{Name: "greeter", Version: "1.0.0", Tasks: []sdk.Task{
		sdk.NewTask("greet", "Greets someone by name", greet),
	}})
}

func ExampleNewTask() {
	t := sdk.NewTask("greet", "Greets someone by name", greet)
	fmt.Println(t.Name(), "-", t.Description())
	// Output: greet - Greets someone by name
}

// Permanent keeps the error's text and identity: the host shows the
// message, the task's own code can still use errors.Is.
func ExamplePermanent() {
	err := sdk.Permanent(fmt.Errorf("open %s: %w", "a.txt", fs.ErrNotExist))
	fmt.Println(err)
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	// Output:
	// open a.txt: file does not exist
	// true
}

// RetryAfter tells the host when to try again, e.g. after a rate limit.
func ExampleRetryAfter() {
	err := sdk.RetryAfter(errors.New("rate limited"), 30*time.Second)
	fmt.Println(err)
	// Output: rate limited
}
