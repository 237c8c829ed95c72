package store

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// Some tests need a second process: one that holds the store's lock, or one
// that is killed while committing. They re-exec this test binary, which
// TestMain turns into the helper named by helperEnv.
const (
	helperEnv     = "BATCHHOST_STORE_TEST_HELPER"
	helperPathEnv = "BATCHHOST_STORE_TEST_PATH"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		code := m.Run()
		if fixtureDir != "" {
			os.RemoveAll(fixtureDir)
		}
		os.Exit(code)
	case "hold":
		os.Exit(helperHold(os.Getenv(helperPathEnv)))
	case "ack":
		os.Exit(helperAck(os.Getenv(helperPathEnv)))
	default:
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// helperHold opens the store, says "ready", and keeps it open until its
// standard input closes.
func helperHold(path string) int {
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helperAck commits jobs from four goroutines until it is killed, printing
// "acked ID STATE" from each OnCommit callback, i.e. only after the store
// said the write is durable. Every third batch also completes an earlier job
// of the same goroutine, so that indexes move too.
func helperAck(path string) int {
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := make(chan string, 1024)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; ; i++ {
				n := g*10_000_000 + i
				b := NewBatch()
				j := newJob(n, model.Queued)
				b.PutJob(j)
				acks := []string{j.ID + " queued"}
				if i%3 == 2 {
					done := newJob(n-1, model.Completed)
					done.Key = "key-" + done.ID
					b.PutJob(done)
					acks = append(acks, done.ID+" completed")
				}
				if err := s.Commit(b); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				for _, a := range acks {
					out <- a
				}
			}
		}()
	}
	w := bufio.NewWriter(os.Stdout)
	for a := range out {
		fmt.Fprintf(w, "acked %s\n", a)
		if len(out) == 0 {
			_ = w.Flush()
		}
	}
	return 0
}

// helper starts this test binary as the named helper on path, with its
// standard input and output as pipes.
func helper(t *testing.T, name, path string) (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+name, helperPathEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, stdin, bufio.NewScanner(stdout)
}

// expectLine reads one line from the helper, failing the test if the
// helper ends first or says something else.
func expectLine(t *testing.T, sc *bufio.Scanner, want string) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		if sc.Scan() {
			got <- sc.Text()
		}
		close(got)
	}()
	select {
	case line := <-got:
		if strings.TrimSpace(line) != want {
			t.Fatalf("helper said %q, want %q", line, want)
		}
	case <-time.After(time.Minute):
		t.Fatalf("helper did not say %q within a minute", want)
	}
}
