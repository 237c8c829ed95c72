package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/batchhost/batchhost/host"
)

// installPlugin puts bin into dir as plugin name, renaming a new file over
// the old one as an installer does.
func installPlugin(t testing.TB, dir, name, bin string) {
	t.Helper()
	tmp := filepath.Join(dir, ".new")
	if err := os.Link(bin, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "batchhost-plugin-"+name)); err != nil {
		t.Fatal(err)
	}
}

// TestPluginsListAndReload: "plugins" lists each plugin with its version,
// processes, path and tasks; "plugins reload" after a rebuild says what
// changed, and the task list follows.
func TestPluginsListAndReload(t *testing.T) {
	dir := shortDir(t)
	installPlugin(t, dir, "chaos", filepath.Join(pluginDir, "batchhost-plugin-chaos"))
	installPlugin(t, dir, "swap", swap1Bin)
	d := startDaemon(t, func(c *host.Config) { c.PluginDir = dir })
	swapPath := filepath.Join(dir, "batchhost-plugin-swap")

	out := d.ok(t, "plugins")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "PLUGIN VERSION PROCESSES PATH TASKS" ||
		strings.Join(strings.Fields(lines[2]), " ") != "swap 1.0.0 1 "+swapPath+" swap.version, swap.block, swap.old" {
		t.Fatalf("plugins:\n%s", out)
	}
	var ps []host.PluginInfo
	decode(t, d.ok(t, "--json", "plugins"), &ps)
	if len(ps) != 2 || ps[1].Name != "swap" || ps[1].Version != "1.0.0" || ps[1].Path != swapPath || ps[1].Processes != 1 || len(ps[1].Tasks) != 3 {
		t.Fatalf("plugins --json: %+v", ps)
	}

	installPlugin(t, dir, "swap", swap2Bin)
	out = d.ok(t, "plugins", "reload")
	for _, want := range []string{
		"changed    swap 1.0.0 -> 2.0.0 (" + swapPath + "): new jobs run on the new build; tasks gone: swap.old; new tasks: swap.new\n",
		"unchanged  chaos\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plugins reload lacks %q:\n%s", want, out)
		}
	}
	if out := d.ok(t, "tasks"); !strings.Contains(out, "swap.new") || strings.Contains(out, "swap.old") {
		t.Errorf("tasks after the reload:\n%s", out)
	}
	if out := d.ok(t, "plugins", "reload"); out != "unchanged  chaos, swap\n" {
		t.Errorf("a reload with nothing changed: %q", out)
	}

	// A file that is no plugin is a problem; removing a plugin is said.
	installPlugin(t, dir, "broken", "/bin/true")
	if err := os.Remove(filepath.Join(dir, "batchhost-plugin-chaos")); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Added, Removed []host.PluginInfo
		Changed        []host.PluginChange
		Unchanged      []string
		Problems       []string
	}
	decode(t, d.ok(t, "--json", "plugins", "reload"), &rep)
	if len(rep.Removed) != 1 || rep.Removed[0].Name != "chaos" || len(rep.Unchanged) != 1 || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "batchhost-plugin-broken") {
		t.Errorf("plugins reload --json: %+v", rep)
	}
	if out := d.ok(t, "plugins"); !strings.Contains(out, "problem    plugin "+filepath.Join(dir, "batchhost-plugin-broken")) {
		t.Errorf("plugins does not show the problem:\n%s", out)
	}
	d.fails(t, 2, `unknown command "bogus" for "batchhost plugins" (the only subcommand is reload)`, "plugins", "bogus")
	d.fails(t, 2, "unknown command", "plugins", "reload", "now")
}

// TestServeReloadsPluginsOnSIGHUP: SIGHUP to "batchhost serve" loads a
// plugin added since it started.
func TestServeReloadsPluginsOnSIGHUP(t *testing.T) {
	dir := shortDir(t)
	installPlugin(t, dir, "chaos", filepath.Join(pluginDir, "batchhost-plugin-chaos"))
	sock := filepath.Join(shortDir(t), "bh.sock")
	p := startServe(t, []string{"BATCHHOST_DATA_DIR=" + t.TempDir(), "BATCHHOST_SOCKET=" + sock, "BATCHHOST_PLUGIN_DIR=" + dir})
	cli := map[string]string{"BATCHHOST_SOCKET": sock}
	installPlugin(t, dir, "swap", swap1Bin)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.expect(t, "plugin loaded: plugin=swap version=1.0.0")
	p.expect(t, "plugins reloaded: added=1 removed=0 changed=0 unchanged=1")
	if r := runCLI(t, cli, "", "tasks"); r.code != 0 || !strings.Contains(r.stdout, "swap.version") {
		t.Fatalf("tasks after SIGHUP: %+v", r)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.expect(t, "batchhost: stopped")
	for range p.lines {
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, p.log.String())
	}
}
