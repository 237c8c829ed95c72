//go:build unix

package sdk

import "syscall"

func closeOnExec(fd int) { syscall.CloseOnExec(fd) }

// lastWords writes msg to fd 2 with a raw write. Through os.Stderr a write
// to a closed pipe (the dead host held its read end) would kill the process
// with SIGPIPE instead of letting it exit with its own status.
func lastWords(msg string) { _, _ = syscall.Write(2, []byte(msg)) }
