package runner

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"

	"github.com/batchhost/batchhost/proto/pluginpb"
	"github.com/batchhost/batchhost/proto/pluginrpc"
)

// proc is one plugin process. It runs at most one attempt at a time.
type proc struct {
	path     string
	pl       *plugin // nil until registered
	client   *goplugin.Client
	rpc      pluginpb.TaskPluginClient
	version  int             // the protocol version negotiated at the handshake
	attempts *pluginrpc.Conn // protocol version 2: the attempt channel
	cmd      *exec.Cmd
	pid      int
	stderr   *tail
	lifeline *os.File  // our end of the lifeline pipe; closing it tells the plugin to exit
	box      container // every process the plugin started
	memLimit int64

	mu      sync.Mutex
	cur     *Run          // protocol version 2: the attempt in progress
	seq     uint64        // protocol version 2: the last attempt's seq
	ended   bool          // protocol version 2: the attempt channel has ended
	idle    *time.Timer   // armed while the process is idle in the pool
	stopped bool          // a kill or stop has begun
	gone    chan struct{} // closed when that kill or stop is over
}

// The protocol versions the runner speaks.
const (
	protocolV1 = pluginrpc.ProtocolVersion1
	protocolV2 = pluginrpc.ProtocolVersion2
)

// launch starts a plugin process, in a container of ct, and waits for its
// handshake. A process that fails any step is killed, with everything it
// started, before launch returns.
func launch(cfg *Config, ct containment, path string, memLimit int64) (*proc, error) {
	box, err := ct.newContainer()
	if err != nil {
		return nil, err
	}
	// The lifeline: the plugin reads its end and exits on EOF, which the
	// kernel delivers when this process dies, however it dies. Pdeathsig
	// backs it up for a plugin stopped with SIGSTOP (it cannot read).
	lr, lw, err := os.Pipe()
	if err != nil {
		box.remove()
		return nil, fmt.Errorf("lifeline pipe: %w", err)
	}
	defer lr.Close()
	// The attempt channel, for a plugin that speaks protocol version 2;
	// which version it speaks is known only after the handshake.
	attempts, ar, err := pluginrpc.NewAttemptChannel()
	if err != nil {
		lw.Close()
		box.remove()
		return nil, err
	}
	defer ar.Close()
	cmd := exec.Command(path)
	cmd.Env = pluginEnv(cfg.Env,
		pluginrpc.LifelineFDEnv+"=3",
		pluginrpc.AttemptFDEnv+"=4",
		// go-plugin only passes its socket directory to the plugin this way.
		"PLUGIN_UNIX_SOCKET_DIR="+cfg.SocketDir,
	)
	cmd.ExtraFiles = []*os.File{lr, ar}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := box.prepare(cmd); err != nil {
		lw.Close()
		attempts.Close()
		box.remove()
		return nil, err
	}
	p := &proc{path: path, cmd: cmd, stderr: newTail(stderrLines), lifeline: lw, attempts: attempts, box: box, memLimit: memLimit, gone: make(chan struct{})}
	p.client = goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  pluginrpc.Handshake,
		VersionedPlugins: pluginrpc.HostPlugins(),
		Cmd:              cmd,
		// cmd.Env already holds the host's environment, first (see
		// pluginEnv); go-plugin would append it again, after ours.
		SkipHostEnv:      true,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     cfg.StartTimeout,
		Logger:           lifecycleLogger{cfg.Logger},
		Stderr:           p.stderr,
		UnixSocketConfig: &goplugin.UnixSocketConfig{TempDir: cfg.SocketDir},
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(pluginrpc.MaxMessageBytes),
			grpc.MaxCallSendMsgSize(pluginrpc.MaxMessageBytes),
		)},
	})
	fail := func(step string, err error) (*proc, error) {
		p.kill()
		msg := fmt.Sprintf("%s: %v", step, oneLine(err.Error()))
		if t := p.stderr.String(); t != "" {
			msg += "; stderr: " + oneLine(lastLine(t))
		}
		return nil, errors.New(msg)
	}
	rc, err := p.client.Client()
	// go-plugin kills only the process itself when its start fails; its
	// children keep the stdout and stderr pipes (and go-plugin's readers
	// and the process's descriptors) alive. Knowing the pid lets kill end
	// the whole group.
	if cmd.Process != nil {
		p.pid = cmd.Process.Pid
	}
	box.started(p.pid)
	if err != nil {
		p.kill()
		msg := startError(err, cfg.StartTimeout)
		if t := p.stderr.String(); t != "" {
			msg += "; stderr: " + oneLine(lastLine(t))
		}
		return nil, errors.New(msg)
	}
	raw, err := rc.Dispense(pluginrpc.PluginKey)
	if err != nil {
		return fail("dispense", err)
	}
	rpc, ok := raw.(pluginpb.TaskPluginClient)
	if !ok {
		return fail("dispense", fmt.Errorf("unexpected client type %T", raw))
	}
	p.rpc = rpc
	p.version = p.client.NegotiatedVersion()
	if p.version != protocolV2 {
		// A version 1 plugin has no use for the channel.
		p.attempts.Close()
		p.attempts = nil
	}
	if memLimit > 0 && p.pid > 0 {
		if err := p.limitMemory(memLimit); err != nil {
			return fail("memory limit", err)
		}
	}
	return p, nil
}

// pluginEnv is a plugin process's environment: the host's own, then the
// configured variables, then the runner's. A variable given twice takes
// its last value (os/exec keeps the last), so a variable exported in the
// daemon's shell never overrides what the host was configured to pass
// (BATCHHOST_EXEC_ALLOW from --exec-allow, say).
func pluginEnv(configured []string, runner ...string) []string {
	env := os.Environ()
	env = append(env, configured...)
	return append(env, runner...)
}

// limitMemory caps the address space the process may add from now on.
// A Go program reserves address space it never touches, so the cap is
// relative to the size at start, not absolute.
func (p *proc) limitMemory(limit int64) error {
	base, err := vmSize(p.pid)
	if err != nil {
		return err
	}
	lim := uint64(base + limit)
	return unix.Prlimit(p.pid, unix.RLIMIT_AS, &unix.Rlimit{Cur: lim, Max: lim}, nil)
}

// vmSize reads a process's virtual size in bytes from /proc.
func vmSize(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmSize:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmSize for pid %d", pid)
}

// signal sends sig to every process of the plugin's container and to its
// process group, so that a paused job's commands stop with it and a
// killed plugin's commands die with it, whatever group or session they
// are in. The plugin's descendants go first: once the plugin is stopped
// or dead, it cannot start more. SIGKILL kills the whole container.
func (p *proc) signal(sig syscall.Signal) error {
	if p.pid <= 0 {
		return errors.New("process not started")
	}
	if sig == syscall.SIGKILL {
		p.box.killAll()
	} else {
		for _, q := range p.box.pids() {
			if q != p.pid {
				syscall.Kill(q, sig)
			}
		}
	}
	err := syscall.Kill(-p.pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// endAttempt kills every process the plugin started during the attempt
// that just ended, before the process takes another. False if they could
// not all be killed: the process must then be discarded.
func (p *proc) endAttempt() bool {
	return p.pid <= 0 || p.box.killBelow()
}

// kill ends the process group at once and cleans up go-plugin's side. It
// never blocks for long: go-plugin's Kill can hang on a stopped or wedged
// plugin, so it runs under a watchdog. A kill while another kill or a stop
// is under way sends SIGKILL too, then waits for that one to finish, so
// that the process is gone when kill returns.
func (p *proc) kill() {
	p.mu.Lock()
	first := !p.stopped
	p.stopped = true
	if p.idle != nil {
		p.idle.Stop()
	}
	p.mu.Unlock()
	if !first {
		select {
		case <-p.gone:
		default:
			p.signal(syscall.SIGKILL)
			<-p.gone
		}
		return
	}
	defer close(p.gone)
	if p.pid > 0 {
		p.signal(syscall.SIGKILL)
	}
	p.lifeline.Close()
	p.closeAttempts()
	p.cleanup(killWatchdog)
	p.box.remove()
}

// closeAttempts closes the host's end of the attempt channel, which ends
// its reader.
func (p *proc) closeAttempts() {
	if p.attempts != nil {
		p.attempts.Close()
	}
}

// stop asks the process to exit (closing its gRPC connection and its
// lifeline), and kills its group if it has not exited after grace.
func (p *proc) stop(grace time.Duration) {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	if p.idle != nil {
		p.idle.Stop()
	}
	p.mu.Unlock()
	defer close(p.gone)
	// Whatever the plugin leaves behind goes with it: what it started
	// while idle, or, in a tree walk, what only the walk from the live
	// plugin can find.
	p.box.killBelow()
	defer p.box.remove()
	// go-plugin's shutdown first: the plugin exits 0. Closing the lifeline
	// or the attempt channel first would make it exit 3, which reads as a
	// failure in the logs.
	defer p.closeAttempts()
	defer p.lifeline.Close()
	done := make(chan struct{})
	go func() {
		p.client.Kill()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	p.signal(syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(killWatchdog):
	}
}

// killWatchdog bounds the wait for go-plugin's cleanup after SIGKILL.
const killWatchdog = 5 * time.Second

func (p *proc) cleanup(limit time.Duration) {
	done := make(chan struct{})
	go func() {
		p.client.Kill()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
	}
}

// waitExit waits (up to limit) for the process to have exited and returns
// its exit status ("exit status 2", "signal: killed"). go-plugin reaps the
// process and offers no exit channel, so this checks its flag on a short
// tick; it runs only after an attempt's stream broke.
func (p *proc) waitExit(limit time.Duration) (string, bool) {
	deadline := time.Now().Add(limit)
	for !p.client.Exited() {
		if time.Now().After(deadline) {
			return "", false
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Exited is set under go-plugin's lock after cmd.Wait returned, so
	// ProcessState is safe to read now.
	if ps := p.cmd.ProcessState; ps != nil {
		return ps.String(), true
	}
	return "exited", true
}
