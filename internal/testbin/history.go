package testbin

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Protocol1Commit is the last commit whose SDK and host speak only plugin
// protocol version 1. Compatibility tests build binaries from it: a plugin
// built with that SDK must still run on the current host, and that host
// must refuse a current plugin with a message naming the versions.
const Protocol1Commit = "93ab9fd7a4fedd987d8e77c7ef47c2ea82a599bf"

// BuildAtCommit compiles the main package pkg as it was at commit into dir
// under the given file name, from a copy of that commit's tree (git
// archive), and returns the executable's path. It needs the repository's
// history; without it the error says so.
func BuildAtCommit(dir, name, pkg, commit string) (string, error) {
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("testbin: building %s at %.7s needs this module's git history: git rev-parse: %v", pkg, commit, err)
	}
	src, err := os.MkdirTemp(dir, "src-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	archive := exec.Command("git", "-C", strings.TrimSpace(string(top)), "archive", "--format=tar", commit)
	var tarball, stderr bytes.Buffer
	archive.Stdout, archive.Stderr = &tarball, &stderr
	if err := archive.Run(); err != nil {
		return "", fmt.Errorf("testbin: git archive %.7s (the compatibility tests need this commit in the repository's history): %v: %s", commit, err, strings.TrimSpace(stderr.String()))
	}
	untar := exec.Command("tar", "-x", "-C", src)
	untar.Stdin = &tarball
	if b, err := untar.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testbin: unpack %.7s: %v: %s", commit, err, b)
	}
	out := filepath.Join(dir, name)
	// -trimpath keeps the build cache's keys independent of the copy's
	// temporary path, so repeated runs reuse the old build.
	build := exec.Command(goTool(), "build", "-trimpath", "-o", out, pkg)
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testbin: go build %s at %.7s: %v\n%s", pkg, commit, err, strings.TrimSpace(string(b)))
	}
	return out, nil
}
