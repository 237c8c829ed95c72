//go:build !unix

package exec

import (
	"io/fs"
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

// fileOwner is unknown where files have no uid.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
