package host

import (
	"context"
	"errors"

	"github.com/batchhost/batchhost/host/internal/runner"
)

// PluginInfo describes a loaded plugin.
type PluginInfo struct {
	Name    string `json:"plugin"`
	Version string `json:"version"`
	// Path is the plugin's executable.
	Path string `json:"path"`
	// Tasks are the tasks it offers, "<plugin>.<task>".
	Tasks []string `json:"tasks"`
	// Processes counts its live processes, idle or running a job.
	Processes int `json:"processes"`
	// Retiring counts the processes of builds a reload replaced that are
	// still finishing their jobs; each stops when its job ends.
	Retiring int `json:"retiring"`
}

// PluginChange is a plugin whose executable a reload found changed: as it
// was and as it is now.
type PluginChange struct {
	Old PluginInfo `json:"old"`
	New PluginInfo `json:"new"`
}

// PluginReload says what ReloadPlugins changed. Each list is sorted by
// plugin name.
type PluginReload struct {
	Added     []PluginInfo   `json:"added"`
	Removed   []PluginInfo   `json:"removed"`
	Changed   []PluginChange `json:"changed"`
	Unchanged []string       `json:"unchanged"`
	// Problems are what this scan found wrong in the plugin dir, one line
	// each naming the file and the fix; Problems reports them from now on
	// instead of those found earlier.
	Problems []error `json:"-"`
}

// Plugins lists the loaded plugins, sorted by name, with their processes.
func (h *Host) Plugins() []PluginInfo {
	var out []PluginInfo
	for _, p := range h.plugins.Plugins() {
		out = append(out, pluginInfo(p))
	}
	return out
}

// ReloadPlugins scans the plugin directory again, as Open did, so that a
// rebuilt, added or removed plugin takes effect without a restart. Jobs
// that start from now on run on the new builds; running jobs finish on the
// processes of the old ones, which then stop. A job whose task a reload
// took away fails with kind unknown_task when it would start, its error
// saying that the reload took the task away. A file unchanged since it was
// loaded is not launched again. A plugin that no longer loads counts as
// removed and is one of the Problems. Only an unreadable plugin directory,
// ctx or a closed host is an error; nothing changes then.
func (h *Host) ReloadPlugins(ctx context.Context) (*PluginReload, error) {
	rep, err := h.plugins.Reload(ctx)
	if errors.Is(err, runner.ErrClosed) {
		return nil, ErrClosed
	}
	if err != nil {
		return nil, err
	}
	// The engine claims only the tasks it knows of: now the new ones.
	h.runner.Refresh()
	h.e.Wake()
	out := &PluginReload{Unchanged: rep.Unchanged, Problems: rep.Problems}
	for _, p := range rep.Added {
		out.Added = append(out.Added, pluginInfo(p))
	}
	for _, p := range rep.Removed {
		out.Removed = append(out.Removed, pluginInfo(p))
	}
	for _, c := range rep.Changed {
		out.Changed = append(out.Changed, PluginChange{Old: pluginInfo(c.Old), New: pluginInfo(c.New)})
	}
	return out, nil
}

func pluginInfo(p runner.PluginInfo) PluginInfo {
	return PluginInfo{Name: p.Name, Version: p.Version, Path: p.Path, Tasks: p.Tasks, Processes: p.Processes, Retiring: p.Retiring}
}
