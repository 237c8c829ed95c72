//go:build unix

package exec

import (
	"io/fs"
	osexec "os/exec"
	"syscall"
)

// inProcessGroup makes cmd the leader of a new process group, so that
// cancelling the job can signal the command and everything it started,
// and nothing else (not the plugin).
func inProcessGroup(cmd *osexec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(cmd.SysProcAttr)
}

// signalGroup sends sig to cmd's process group. A group that is gone
// already (ESRCH) is what we wanted.
func signalGroup(cmd *osexec.Cmd, sig syscall.Signal) {
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}

// fileOwner returns the uid that owns info's file.
func fileOwner(info fs.FileInfo) (int, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
