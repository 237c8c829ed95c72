package sdk

import (
	"fmt"
	"os"
	"strconv"

	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// lifelineExitCode is the exit status of a plugin whose host is gone.
const lifelineExitCode = 3

// openLifeline opens the lifeline the host passed: a pipe whose write end
// only the host holds, so that EOF (or any read error) means the host has
// exited, even by SIGKILL. The host also writes its cancels to it (see
// pluginrpc.WriteCancel). Whoever reads it exits the process at once at its
// end, abandoning a running task: nobody is left to receive its result,
// and an orphaned plugin must not keep working on a job the next host will
// run again.
//
// The variable is removed from the environment and the descriptor marked
// close-on-exec, so commands a task starts neither inherit the pipe nor
// mistake themselves for a plugin with a lifeline.
func openLifeline() (*os.File, error) {
	v, ok := os.LookupEnv(pluginrpc.LifelineFDEnv)
	if !ok || v == "" {
		return nil, fmt.Errorf("the host passed no lifeline (%s is not set)", pluginrpc.LifelineFDEnv)
	}
	_ = os.Unsetenv(pluginrpc.LifelineFDEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 0 || fd == 1 || fd == 2 {
		return nil, fmt.Errorf("%s=%q is not a usable file descriptor number", pluginrpc.LifelineFDEnv, v)
	}
	f := os.NewFile(uintptr(fd), "lifeline")
	if f == nil {
		return nil, fmt.Errorf("%s=%d is not an open file descriptor", pluginrpc.LifelineFDEnv, fd)
	}
	if _, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("%s=%d is not an open file descriptor: %w", pluginrpc.LifelineFDEnv, fd, err)
	}
	closeOnExec(fd)
	return f, nil
}
