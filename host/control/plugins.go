package control

import (
	"context"
	"errors"

	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

func (s *service) Plugins(context.Context, *pb.Empty) (*pb.PluginsResponse, error) {
	out := &pb.PluginsResponse{}
	for _, p := range s.h.Plugins() {
		out.Plugins = append(out.Plugins, toProtoPlugin(p))
	}
	return out, nil
}

func (s *service) ReloadPlugins(ctx context.Context, _ *pb.Empty) (*pb.ReloadPluginsResponse, error) {
	rep, err := s.h.ReloadPlugins(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.ReloadPluginsResponse{Unchanged: rep.Unchanged}
	for _, p := range rep.Added {
		out.Added = append(out.Added, toProtoPlugin(p))
	}
	for _, p := range rep.Removed {
		out.Removed = append(out.Removed, toProtoPlugin(p))
	}
	for _, c := range rep.Changed {
		out.Changed = append(out.Changed, &pb.PluginChange{Old: toProtoPlugin(c.Old), New: toProtoPlugin(c.New)})
	}
	for _, p := range rep.Problems {
		out.Problems = append(out.Problems, p.Error())
	}
	return out, nil
}

// Plugins lists the host's loaded plugins with their processes.
func (c *Client) Plugins(ctx context.Context) ([]host.PluginInfo, error) {
	r, err := c.rpc.Plugins(ctx, &pb.Empty{})
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	var out []host.PluginInfo
	for _, p := range r.GetPlugins() {
		out = append(out, fromProtoPlugin(p))
	}
	return out, nil
}

// ReloadPlugins has the host scan its plugin dir again (see
// host.Host.ReloadPlugins) and returns what changed.
func (c *Client) ReloadPlugins(ctx context.Context) (*host.PluginReload, error) {
	r, err := c.rpc.ReloadPlugins(ctx, &pb.Empty{})
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	out := &host.PluginReload{Unchanged: r.GetUnchanged()}
	for _, p := range r.GetAdded() {
		out.Added = append(out.Added, fromProtoPlugin(p))
	}
	for _, p := range r.GetRemoved() {
		out.Removed = append(out.Removed, fromProtoPlugin(p))
	}
	for _, ch := range r.GetChanged() {
		out.Changed = append(out.Changed, host.PluginChange{Old: fromProtoPlugin(ch.GetOld()), New: fromProtoPlugin(ch.GetNew())})
	}
	for _, p := range r.GetProblems() {
		out.Problems = append(out.Problems, errors.New(p))
	}
	return out, nil
}

func toProtoPlugin(p host.PluginInfo) *pb.PluginInfo {
	return &pb.PluginInfo{Plugin: p.Name, Version: p.Version, Path: p.Path, Tasks: p.Tasks,
		Processes: int32(p.Processes), Retiring: int32(p.Retiring)}
}

func fromProtoPlugin(p *pb.PluginInfo) host.PluginInfo {
	return host.PluginInfo{Name: p.GetPlugin(), Version: p.GetVersion(), Path: p.GetPath(), Tasks: p.GetTasks(),
		Processes: int(p.GetProcesses()), Retiring: int(p.GetRetiring())}
}
