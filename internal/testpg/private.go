package testpg

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Server is a PostgreSQL server of one test's own, in a temporary
// directory on a port of its own: the test may stop and restart it
// without disturbing the tests that share the machine's server.
type Server struct {
	dir  string
	bin  string
	port int
	as   string // the user the server runs as: PostgreSQL refuses root
}

// Private initializes and starts a server (trust authentication, user
// postgres) and stops it when the test ends.
func Private(t testing.TB) *Server {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		t.Fatalf("a private PostgreSQL server needs the server's programs: %v", err)
	}
	dir, err := os.MkdirTemp("", "bhpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{dir: filepath.Join(dir, "data"), bin: bin, port: freePort(t)}
	if os.Geteuid() == 0 {
		s.as = "postgres"
		u, err := user.Lookup(s.as)
		if err != nil {
			t.Fatalf("running as root, the server needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := s.run("initdb", "-D", s.dir, "-U", "postgres", "--auth=trust", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.Start(t)
	t.Cleanup(func() {
		if out, err := s.run("pg_ctl", "-D", s.dir, "-m", "immediate", "-w", "stop"); err != nil && !strings.Contains(string(out), "not running") {
			t.Errorf("stopping the private server: %v\n%s", err, out)
		}
	})
	return s
}

// URL is the server's postgres database.
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Start starts the stopped server and waits until it takes connections.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", s.port, filepath.Dir(s.dir))
	if out, err := s.run("pg_ctl", "-D", s.dir, "-l", filepath.Join(filepath.Dir(s.dir), "log"), "-o", opts, "-w", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(filepath.Dir(s.dir), "log"))
		t.Fatalf("starting the private server: %v\n%s\n%s", err, out, log)
	}
}

// Stop stops the server: mode "immediate" is a crash (no checkpoint,
// every connection cut), "fast" a clean shutdown.
func (s *Server) Stop(t testing.TB, mode string) {
	t.Helper()
	if out, err := s.run("pg_ctl", "-D", s.dir, "-m", mode, "-w", "stop"); err != nil {
		t.Fatalf("stopping the private server: %v\n%s", err, out)
	}
}

// run runs one of the server's programs, as the server's user.
func (s *Server) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, prog)
	if s.as != "" {
		return exec.Command("runuser", append([]string{"-u", s.as, "--", path}, args...)...).CombinedOutput()
	}
	return exec.Command(path, args...).CombinedOutput()
}

// binDir finds initdb and pg_ctl: pg_config's bindir, else Debian's
// /usr/lib/postgresql/<version>/bin.
func binDir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", fmt.Errorf("no initdb (pg_config --bindir, /usr/lib/postgresql/*/bin)")
	}
	return filepath.Dir(found[len(found)-1]), nil
}

// freePort asks the kernel for a port no one listens on.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
