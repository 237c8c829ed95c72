package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// serve --http in this process: the dashboard answers on the logged
// address, needs the token from the token file, and stops with serve.
func TestServeHTTP(t *testing.T) {
	dataDir := t.TempDir()
	sock := filepath.Join(shortDir(t), "bh.sock")
	tokenFile := filepath.Join(t.TempDir(), "token")
	const token = "0123456789abcdef0123"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BATCHHOST_DATA_DIR": dataDir, "BATCHHOST_SOCKET": sock, "BATCHHOST_PLUGIN_DIR": pluginDir,
		"BATCHHOST_HTTP": "127.0.0.1:0", "BATCHHOST_HTTP_TOKEN_FILE": tokenFile, "BATCHHOST_HTTP_READ_ONLY": "true"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		defer pw.Close()
		done <- run(ctx, []string{"serve"}, strings.NewReader(""), io.Discard, pw, func(k string) string { return env[k] })
	}()
	sc := bufio.NewScanner(pr)
	var logged strings.Builder
	for !strings.Contains(logged.String(), "batchhost: serving") && sc.Scan() {
		logged.WriteString(sc.Text() + "\n")
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+/) token=true read_only=true`).FindStringSubmatch(logged.String())
	if m == nil {
		t.Fatalf("no dashboard address logged:\n%s", logged.String())
	}
	get := func(path, tok string) int {
		req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, m[1]+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("healthz", token); code != http.StatusOK {
		t.Errorf("/healthz with the token: %d", code)
	}
	if code := get("metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d, want 401", code)
	}
	req, _ := http.NewRequest(http.MethodPost, m[1]+"dispatch/pause", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("an action on --http-read-only: %v %v, want 403", resp, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit %d\n%s", code, logged.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := http.Get(m[1] + "healthz"); err == nil {
		t.Error("the dashboard still answers after serve stopped")
	}
}

func TestServeHTTPBadConfiguration(t *testing.T) {
	sock := filepath.Join(shortDir(t), "bh.sock")
	dataDir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"BATCHHOST_DATA_DIR": dataDir, "BATCHHOST_SOCKET": sock, "BATCHHOST_PLUGIN_DIR": pluginDir}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--http", "0.0.0.0:0"}, `--http 0.0.0.0:0 is not a loopback address: set --http-token or --http-token-file`},
		{nil, []string{"--http", ":0"}, `--http :0 is not a loopback address`},
		{nil, []string{"--http", "8080"}, `invalid --http "8080": want HOST:PORT`},
		{nil, []string{"--http", "127.0.0.1:0", "--http-token", "short"}, `the HTTP token is 5 characters: use at least 16`},
		{nil, []string{"--http", "127.0.0.1:0", "--http-token", "0123456789abcdef0", "--http-token-file", empty}, `give --http-token or --http-token-file, not both`},
		{nil, []string{"--http", "127.0.0.1:0", "--http-token-file", empty}, `holds no token`},
		{nil, []string{"--http", "127.0.0.1:0", "--http-token-file", "/nonexistent/token"}, `cannot read --http-token-file`},
		{nil, []string{"--http-token", "0123456789abcdef0"}, `--http-token needs --http (or BATCHHOST_HTTP)`},
		{map[string]string{"BATCHHOST_HTTP_READ_ONLY": "maybe"}, nil, `invalid BATCHHOST_HTTP_READ_ONLY="maybe"`},
	} {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range tc.env {
			e[k] = v
		}
		r := runCLI(t, e, "", append([]string{"serve"}, tc.args...)...)
		expectFail(t, r, 2, tc.want, tc.args)
		if _, err := os.Stat(dataDir); err == nil {
			t.Fatalf("serve %v made the data directory", tc.args)
		}
	}
}
