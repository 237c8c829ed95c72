package exec

import "syscall"

// setDeathSignal asks the kernel to SIGKILL the command when the plugin
// dies (the host kills a plugin's process group after its grace, which
// does not include the command's own group). It covers the command itself,
// not what it starts. Go threads do not exit under a running program, so
// the signal is not sent early (it is tied to the forking thread).
func setDeathSignal(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}
