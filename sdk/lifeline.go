package sdk

import (
	"fmt"
	"os"
	"strconv"

	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// lifelineExitCode is the exit status of a plugin whose host is gone.
const lifelineExitCode = 3

// watchLifeline starts the watch on the lifeline the host passed, if any:
// a pipe whose write end only the host holds, so that EOF (or any read
// error) means the host has exited, even by SIGKILL. The plugin then exits
// at once, abandoning a running task: nobody is left to receive its
// result, and an orphaned plugin must not keep working on a job the next
// host will run again.
//
// The variable is removed from the environment and the descriptor marked
// close-on-exec, so commands a task starts neither inherit the pipe nor
// mistake themselves for a plugin with a lifeline.
func watchLifeline(prog string) error {
	v, ok := os.LookupEnv(pluginrpc.LifelineFDEnv)
	if !ok || v == "" {
		return nil
	}
	_ = os.Unsetenv(pluginrpc.LifelineFDEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 0 || fd == 1 || fd == 2 {
		return fmt.Errorf("%s=%q is not a usable file descriptor number", pluginrpc.LifelineFDEnv, v)
	}
	f := os.NewFile(uintptr(fd), "lifeline")
	if f == nil {
		return fmt.Errorf("%s=%d is not an open file descriptor", pluginrpc.LifelineFDEnv, fd)
	}
	if _, err := f.Stat(); err != nil {
		return fmt.Errorf("%s=%d is not an open file descriptor: %w", pluginrpc.LifelineFDEnv, fd, err)
	}
	closeOnExec(fd)
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := f.Read(buf); err != nil {
				lastWords(fmt.Sprintf("%s: the host is gone (lifeline: %v); exiting\n", prog, err))
				os.Exit(lifelineExitCode)
			}
		}
	}()
	return nil
}
