package engine

import (
	"context"
	"sync/atomic"

	"github.com/batchhost/batchhost/host/internal/runner"
)

// Plugins is the Runner port over the plugin manager: attempts run in
// plugin processes.
type Plugins struct {
	m     *runner.Manager
	tasks atomic.Pointer[[]string]
}

// NewPlugins adapts a plugin manager.
func NewPlugins(m *runner.Manager) *Plugins {
	p := &Plugins{m: m}
	p.Refresh()
	return p
}

// Refresh reads the task list again (after the plugins were reloaded);
// Tasks answers from it, as the loop asks on every round.
func (p *Plugins) Refresh() {
	infos := p.m.Tasks()
	names := make([]string, len(infos))
	for i, t := range infos {
		names[i] = t.Name
	}
	p.tasks.Store(&names)
}

// Tasks lists the tasks the loaded plugins serve.
func (p *Plugins) Tasks() []string { return *p.tasks.Load() }

// Start begins an attempt in a plugin process.
func (p *Plugins) Start(ctx context.Context, a runner.Attempt, onEvent func(runner.Event)) (Attempt, error) {
	r, err := p.m.Start(ctx, a, onEvent)
	if err != nil {
		return nil, err
	}
	return r, nil
}
