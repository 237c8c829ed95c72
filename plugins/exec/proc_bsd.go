//go:build unix && !linux

package exec

import "syscall"

// setDeathSignal does nothing where the kernel has no parent-death
// signal: a command outlives a plugin that is killed.
func setDeathSignal(*syscall.SysProcAttr) {}
