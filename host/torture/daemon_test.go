package torture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/batchhost/batchhost/host/control"
	"github.com/batchhost/batchhost/internal/testbin"
)

// tagEnv tags every process a daemon starts: its plugins inherit the
// daemon's environment, so after a kill the test finds what is left of
// that daemon by this entry, wherever the processes were reparented.
const tagEnv = "BATCHHOST_TORTURE_TAG"

// daemon is one run of "batchhost serve" as a subprocess, from start to
// its kill or stop.
type daemon struct {
	n int // which run, from 0
	// spawned is when it was started; startup how long it took to serve.
	spawned time.Time
	startup time.Duration
	tag     string // its tagEnv value
	cmd     *exec.Cmd
	c       *control.Client
	log     *lineLog

	// killed is set before the SIGKILL is sent: a call that fails after
	// it was in flight when the daemon died, and its outcome is unknown.
	killed atomic.Bool
	exited chan struct{} // closed once cmd.Wait returned
	err    error         // cmd.Wait's, once exited is closed
}

// daemonConfig is what every run shares: the data dir, the socket and
// the flags.
type daemonConfig struct {
	dataDir string
	socket  string
	runID   string
}

// startDaemon starts a daemon and returns once it logged that it serves
// and the control client is connected.
func startDaemon(cfg daemonConfig, n int) (*daemon, error) {
	d, err := spawn(cfg, n)
	if err != nil {
		return d, err
	}
	select {
	case <-d.log.serving:
		d.startup = time.Since(d.spawned)
	case <-d.exited:
		return d, fmt.Errorf("daemon %d exited before serving: %v\n%s", n, d.err, d.log)
	case <-time.After(90 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		return d, fmt.Errorf("daemon %d did not log that it serves within 90s:\n%s", n, d.log)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := control.Dial(ctx, cfg.socket)
	if err != nil {
		return d, fmt.Errorf("dial daemon %d: %v\n%s", n, err, d.log)
	}
	d.c = c
	return d, nil
}

// spawn starts a daemon process.
func spawn(cfg daemonConfig, n int) (*daemon, error) {
	d := &daemon{n: n, tag: fmt.Sprintf("%s/%d", cfg.runID, n), exited: make(chan struct{})}
	d.log = &lineLog{serving: make(chan struct{})}
	d.cmd = exec.Command(batchhostBin, "--data-dir", cfg.dataDir, "--socket", cfg.socket, "serve",
		"--plugin-dir", pluginDir, "--max-workers", "4", "--kill-grace", "2s", "--drain-timeout", "30s",
		"--default-max-attempts", "4", "--poll-interval", "200ms")
	// The daemon reads BATCHHOST_* variables (a database URL among them):
	// give it none of the test's, only its tag.
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "BATCHHOST_") {
			d.cmd.Env = append(d.cmd.Env, e)
		}
	}
	d.cmd.Env = append(d.cmd.Env, tagEnv+"="+d.tag)
	d.cmd.Stdout = d.log
	d.cmd.Stderr = d.log
	// A process the daemon left holding its stderr would keep Wait
	// waiting for EOF: bound that, the leak is found by the process checks.
	d.cmd.WaitDelay = 10 * time.Second
	d.spawned = time.Now()
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
	return d, nil
}

// kill SIGKILLs the daemon, waits for it, and waits for every process it
// started to die (plugins hold a lifeline to the host and must follow it).
// It returns how many plugin processes it had at the kill, and the
// processes below those (task commands), which the caller checks are gone
// once the next daemon started; the caller closes them.
func (d *daemon) kill() (nplugins int, tasks []*seenProc, err error) {
	// Its plugins now, before they see it die: its children. Their
	// children, the task processes, die with them or at the latest when
	// the next daemon starts.
	var children []*seenProc
	for _, p := range testbin.Descendants(d.cmd.Process.Pid) {
		if p.PPID == d.cmd.Process.Pid {
			children = append(children, see(p))
		} else {
			tasks = append(tasks, see(p))
		}
	}
	defer closeAll(children)
	d.killed.Store(true)
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return 0, tasks, fmt.Errorf("kill daemon %d: %v", d.n, err)
	}
	select {
	case <-d.exited:
	case <-time.After(60 * time.Second):
		return 0, tasks, fmt.Errorf("daemon %d did not exit within 60s of SIGKILL", d.n)
	}
	var ee *exec.ExitError
	if !errors.As(d.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		return 0, tasks, fmt.Errorf("daemon %d ended with %v, not by our SIGKILL (did it die on its own?):\n%s", d.n, d.err, d.log.tail(40))
	}
	// The daemon is gone: nothing of it can start more processes, so
	// its children then and what carries its tag now are all there will
	// be (task commands do not inherit the tag: exec.run gives them an
	// environment of their own).
	for _, p := range children {
		if !p.waitExit(30 * time.Second) {
			return len(children), tasks, fmt.Errorf("process %d (%s) of daemon %d lived 30s past the daemon's SIGKILL", p.PID, p.Cmd, d.n)
		}
	}
	for _, p := range testbin.FindByEnv(tagEnv + "=" + d.tag) {
		if !testbin.WaitExit(p.PID, 30*time.Second) {
			return len(children), tasks, fmt.Errorf("process %d (%s) of daemon %d lived 30s past the daemon's SIGKILL", p.PID, p.Cmd, d.n)
		}
	}
	if again := testbin.FindByEnv(tagEnv + "=" + d.tag); len(again) > 0 {
		return len(children), tasks, fmt.Errorf("processes of killed daemon %d still alive: %+v", d.n, again)
	}
	return len(children), tasks, nil
}

// seenProc is a process seen in /proc, held by a pidfd: waiting on it
// later cannot take a new process that reused the pid for it (pids wrap
// at 32768 on some machines).
type seenProc struct {
	testbin.Proc
	fd int // -1: gone when seen
}

func see(p testbin.Proc) *seenProc {
	fd, err := unix.PidfdOpen(p.PID, 0)
	if err != nil {
		fd = -1
	}
	return &seenProc{Proc: p, fd: fd}
}

// waitExit waits up to limit for the process to exit (its pidfd becomes
// readable) and reports whether it did.
func (p *seenProc) waitExit(limit time.Duration) bool {
	if p.fd < 0 {
		return true
	}
	deadline := time.Now().Add(limit)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return false
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}, ms)
		if err == nil && n > 0 {
			return true
		}
		if err != nil && err != unix.EINTR {
			return false
		}
	}
}

func closeAll(ps []*seenProc) {
	for _, p := range ps {
		if p.fd >= 0 {
			unix.Close(p.fd)
			p.fd = -1
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop() error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-d.exited:
	case <-time.After(90 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		return fmt.Errorf("daemon %d did not stop within 90s of SIGTERM:\n%s", d.n, d.log.tail(40))
	}
	if d.err != nil {
		return fmt.Errorf("daemon %d: %v after SIGTERM:\n%s", d.n, d.err, d.log.tail(40))
	}
	return nil
}

// lineLog keeps a daemon's output and tells when it logged that it serves.
type lineLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	serving chan struct{}
	seen    bool
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.seen && bytes.Contains(l.buf.Bytes(), []byte("batchhost: serving")) {
		l.seen = true
		close(l.serving)
	}
	return len(p), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// tail is the last n lines.
func (l *lineLog) tail(n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
