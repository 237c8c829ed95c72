package runner

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// killAndWait SIGKILLs the processes and waits (up to limit) until they
// have exited. It signals through pidfds, so a pid reused meanwhile is
// never hit, and a pidfd becomes readable when its process exits, which
// is an event to wait on, even for a process that is not our child.
func killAndWait(pids []int, limit time.Duration) {
	var fds []unix.PollFd
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			// Gone already, or no pidfds (Linux before 5.3): a plain kill.
			syscall.Kill(pid, syscall.SIGKILL)
			continue
		}
		if unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) != nil {
			unix.Close(fd)
			continue
		}
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	defer func() {
		for _, p := range fds {
			unix.Close(int(p.Fd))
		}
	}()
	deadline := time.Now().Add(limit)
	for left := fds; len(left) > 0; {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return
		}
		if _, err := unix.Poll(left, ms); err != nil && err != unix.EINTR {
			return
		}
		var still []unix.PollFd
		for _, p := range left {
			if p.Revents == 0 {
				still = append(still, p)
			}
		}
		left = still
	}
}
