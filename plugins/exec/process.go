package exec

import (
	"context"
	"io"
	"os"
	osexec "os/exec"
	"sync"
	"syscall"
	"time"
)

// Timing of stopping a command.
const (
	// killGrace is how long a command has between SIGTERM and SIGKILL
	// when its job is cancelled or times out. It is shorter than the
	// host's grace (5 s by default) for the plugin, so that the plugin
	// still reports the attempt itself.
	killGrace = 2 * time.Second
	// drainGrace bounds the wait for output after the command's process
	// group is gone: a process that left the group (setsid) and kept the
	// pipes open must not hold the job forever.
	drainGrace = 2 * time.Second
)

// runProcess starts cmd in a process group of its own, feeds it stdin,
// records its output lines in out, and waits for it to exit. If ctx ends
// first the whole group gets SIGTERM, then SIGKILL after killGrace. When
// the command has exited, whatever it left running in its group is
// killed: a job's processes do not outlive it. It returns the exit state,
// or the error of a command that did not start.
func runProcess(ctx context.Context, cmd *osexec.Cmd, stdin string, out *output) (*os.ProcessState, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return nil, err
	}
	defer errR.Close()
	cmd.Stdout, cmd.Stderr = outW, errW
	var inW *os.File
	if stdin != "" {
		inR, w, err := os.Pipe()
		if err != nil {
			outW.Close()
			errW.Close()
			return nil, err
		}
		cmd.Stdin, inW = inR, w
		defer inR.Close()
		defer inW.Close()
	}
	inProcessGroup(cmd)
	err = cmd.Start()
	// The child has its copies; ours would keep the pipes open forever.
	outW.Close()
	errW.Close()
	if f, ok := cmd.Stdin.(*os.File); ok {
		f.Close()
	}
	if err != nil {
		return nil, err
	}
	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); out.pump(outR, "stdout") }()
	go func() { defer pumps.Done(); out.pump(errR, "stderr") }()
	var feeder sync.WaitGroup
	if inW != nil {
		feeder.Add(1)
		go func() {
			defer feeder.Done()
			// A command that exits without reading its input makes this
			// fail (EPIPE); that is its business.
			_, _ = io.WriteString(inW, stdin)
			inW.Close()
		}()
	}

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-ctx.Done():
		signalGroup(cmd, syscall.SIGTERM)
		t := time.NewTimer(killGrace)
		select {
		case <-exited:
		case <-t.C:
			signalGroup(cmd, syscall.SIGKILL)
			<-exited
		}
		t.Stop()
	}
	// The leader is reaped, but its group lives on while a member does
	// (and its id with it, so the id names no one else): kill what is left
	// of it. An empty group's id is free, but PIDs are handed out
	// cyclically, so it is not taken again in these microseconds.
	signalGroup(cmd, syscall.SIGKILL)

	drained := make(chan struct{})
	go func() { pumps.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainGrace):
		// Closing the read ends wakes the pumps (pipes are non-blocking
		// on our side); the escaped process gets EPIPE.
		outR.Close()
		errR.Close()
		<-drained
	}
	if inW != nil {
		inW.Close() // wakes a feeder blocked on a full pipe
		feeder.Wait()
	}
	return cmd.ProcessState, nil
}
