package sdk

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Plugin describes a plugin binary: its name, version and the tasks it
// offers. Pass it to Serve from main.
type Plugin struct {
	// Name is the plugin's name; the host exposes its tasks as
	// "<Name>.<task>". Lowercase letters, digits, '_' and '-'.
	Name string
	// Version is informational (shown by "batchhost tasks"); use semver.
	Version string
	// Tasks are the tasks the plugin offers, built with NewTask. Names must
	// be unique within the plugin.
	Tasks []Task
	// FreshProcessPerAttempt asks the host to start a new process for every
	// attempt instead of reusing a warm one. Use it when a task leaks
	// global state (memory, open files, C libraries) between runs; it costs
	// a process start per attempt.
	FreshProcessPerAttempt bool
}

var (
	pluginNameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)
	taskNameRE   = regexp.MustCompile(`^[a-z0-9_-][a-z0-9_.-]*$`)
)

// validate reports the first problem with p's configuration as a one-line
// error that says how to fix it.
func (p Plugin) validate() error {
	if p.Name == "" {
		return errors.New("plugin name is empty: set Plugin.Name")
	}
	if !pluginNameRE.MatchString(p.Name) {
		return fmt.Errorf("plugin name %q is invalid: use lowercase letters, digits, '_' and '-'", p.Name)
	}
	if len(p.Tasks) == 0 {
		return fmt.Errorf("plugin %q has no tasks: add at least one with sdk.NewTask", p.Name)
	}
	seen := make(map[string]bool, len(p.Tasks))
	for i, t := range p.Tasks {
		switch {
		case t.run == nil && t.name == "":
			return fmt.Errorf("plugin %q: task %d is empty: build tasks with sdk.NewTask", p.Name, i+1)
		case !taskNameRE.MatchString(t.name):
			return fmt.Errorf("plugin %q: task name %q is invalid: use lowercase letters, digits, '_', '-' and '.' (not first)", p.Name, t.name)
		case t.run == nil:
			return fmt.Errorf("plugin %q: task %q has no function", p.Name, t.name)
		case strings.ContainsAny(t.description, "\r\n"):
			return fmt.Errorf("plugin %q: task %q: the description must be one line", p.Name, t.name)
		case seen[t.name]:
			return fmt.Errorf("plugin %q: task %q is declared twice", p.Name, t.name)
		}
		seen[t.name] = true
	}
	return nil
}
