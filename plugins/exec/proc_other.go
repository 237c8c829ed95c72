//go:build !unix

package exec

import (
	osexec "os/exec"
	"syscall"
)

// inProcessGroup does nothing where there are no process groups.
func inProcessGroup(*osexec.Cmd) {}

// signalGroup kills the command alone where there are no process groups:
// what it started survives it.
func signalGroup(cmd *osexec.Cmd, _ syscall.Signal) {
	_ = cmd.Process.Kill()
}
