package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/batchhost/batchhost/internal/testbin"
)

// The browser tests drive Debian's chromium, headless. They fail, never
// skip, when it cannot start: scripts/test.sh installs it.

var (
	shotsOnce sync.Once
	shotsDir  string
)

// screenshotDir is where the tests leave their screenshots for a
// reviewer: $BATCHHOST_SCREENSHOTS, else batchhost-web-screenshots in the
// temporary directory. The path is printed.
func screenshotDir(t testing.TB) string {
	shotsOnce.Do(func() {
		shotsDir = os.Getenv("BATCHHOST_SCREENSHOTS")
		if shotsDir == "" {
			shotsDir = filepath.Join(os.TempDir(), "batchhost-web-screenshots")
		}
		if err := os.MkdirAll(shotsDir, 0o755); err != nil {
			t.Fatalf("screenshot folder: %v", err)
		}
		fmt.Fprintf(os.Stderr, "browser tests: screenshots in %s\n", shotsDir)
	})
	t.Logf("screenshots in %s", shotsDir)
	return shotsDir
}

// browser starts a fresh headless chromium (its own profile directory, no
// network but this machine's) and returns a tab's context. Cleanup closes
// it and waits until its processes are gone.
func browser(t testing.TB) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("chromium is not installed: install Debian's chromium package (scripts/test.sh does it)")
	}
	profile, err := os.MkdirTemp("", "bh-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		waitGone(t, "chrom")
		os.RemoveAll(profile)
	})
	// The first run starts the browser, bound to the context it is given:
	// that must be the tab's, not one with a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	return ctx
}

// waitGone waits until no descendant process whose name starts with
// prefix is left (a browser's helpers exit shortly after it).
func waitGone(t testing.TB, prefix string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []testbin.Proc
		for _, p := range testbin.Descendants(os.Getpid()) {
			if strings.HasPrefix(p.Cmd, prefix) && p.State != "Z" {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("browser processes left: %+v", left)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// step runs chromedp actions with a deadline, failing the test with what
// was being done.
func step(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// until waits for a JavaScript condition on the page to hold. The page
// changes by itself (server-sent events), so this is waiting for an
// event, observed in the DOM.
func until(t testing.TB, tab context.Context, what, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond)))
	// A navigation under way replaces the page's JavaScript context while
	// the poll runs in it: poll again in the new one.
	for err != nil && ctx.Err() == nil && strings.Contains(err.Error(), "Cannot find context with specified id") {
		_, err = chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond)))
	}
	if err != nil {
		dump, cancel := context.WithTimeout(tab, 5*time.Second)
		defer cancel()
		body, _ := chromedp.Run(dump, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("waiting until %s (%s): %v\npage text:\n%s", what, expr, err, body)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// evalAwait evaluates a JavaScript expression whose value is a promise.
func evalAwait[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// screenshot saves the whole page as name.png in the screenshot folder.
func screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(screenshotDir(t), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}
