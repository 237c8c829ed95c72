package control

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "bh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestListenMakesAPrivateSocket(t *testing.T) {
	sock := filepath.Join(shortDir(t), "new", "bh.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	di, err := os.Stat(filepath.Dir(sock))
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("socket dir mode %v, %v; want 0700", di.Mode(), err)
	}
	si, err := os.Stat(sock)
	if err != nil || si.Mode().Perm() != 0o600 || si.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v, %v; want a 0600 socket", si.Mode(), err)
	}
}

func TestListenRefusesALiveSocket(t *testing.T) {
	sock := filepath.Join(shortDir(t), "bh.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Listen(sock)
	if err == nil || err.Error() != "batchhost is already running at "+sock {
		t.Fatalf("second Listen = %v", err)
	}
	// A live socket served by something that does not take the lock is
	// found by dialing it.
	other := filepath.Join(shortDir(t), "bh.sock")
	raw, err := net.Listen("unix", other)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := Listen(other); err == nil || err.Error() != "batchhost is already running at "+other {
		t.Fatalf("Listen over a live unlocked socket = %v", err)
	}
}

func TestListenReplacesAStaleSocket(t *testing.T) {
	sock := filepath.Join(shortDir(t), "bh.sock")
	// A dead daemon's socket: the file stays, nobody listens.
	raw, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	raw.(*net.UnixListener).SetUnlinkOnClose(false)
	raw.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("stale socket file should exist: %v", err)
	}
	l, err := Listen(sock)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("dial the new socket: %v", err)
	}
	c.Close()
	l.Close()
	// Closing unlocks: the next host gets the path.
	l, err = Listen(sock)
	if err != nil {
		t.Fatalf("Listen after Close: %v", err)
	}
	l.Close()
}

func TestListenRefusesANonSocket(t *testing.T) {
	sock := filepath.Join(shortDir(t), "bh.sock")
	if err := os.WriteFile(sock, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(sock)
	if err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Fatalf("Listen over a regular file = %v", err)
	}
	if b, _ := os.ReadFile(sock); string(b) != "data" {
		t.Fatal("the file was touched")
	}
}

// Another user's directory or socket is refused. Making one needs root
// (chown); the check itself is tested with a uid that is not ours.
func TestListenRefusesAnotherUsersDirectory(t *testing.T) {
	dir := shortDir(t)
	err := checkOwner(dir, os.Getuid()+1)
	if err == nil || !strings.Contains(err.Error(), "belongs to another user") || !strings.Contains(err.Error(), "--socket") {
		t.Fatalf("checkOwner = %v", err)
	}
	if err := checkOwner(dir, os.Getuid()); err != nil {
		t.Fatalf("own dir: %v", err)
	}
	if os.Getuid() != 0 {
		t.Skip("chown needs root")
	}
	theirs := filepath.Join(dir, "theirs")
	if err := os.Mkdir(theirs, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(filepath.Join(theirs, "bh.sock")); err == nil || !strings.Contains(err.Error(), "belongs to another user (uid 4242") {
		t.Fatalf("Listen in another user's dir = %v", err)
	}
	// A stale socket file of another user in our own directory.
	sock := filepath.Join(dir, "bh.sock")
	raw, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	raw.(*net.UnixListener).SetUnlinkOnClose(false)
	raw.Close()
	if err := os.Lchown(sock, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(sock); err == nil || !strings.Contains(err.Error(), "belongs to another user") {
		t.Fatalf("Listen over another user's socket = %v", err)
	}
}
