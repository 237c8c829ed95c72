package control

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

func (s *service) Hosts(ctx context.Context, _ *pb.Empty) (*pb.HostsResponse, error) {
	hs, err := s.h.Hosts(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.HostsResponse{}
	for _, h := range hs {
		out.Hosts = append(out.Hosts, &pb.HostStatus{Owner: h.Owner, Name: h.Name, Pid: int32(h.PID), Version: h.Version,
			Tasks: h.Tasks, Slots: int32(h.Slots), Started: timestamppb.New(h.Started), Seen: timestamppb.New(h.Seen),
			Alive: h.Alive, Leader: h.Leader, Self: h.Self})
	}
	return out, nil
}

// Hosts lists the hosts serving the queue, alive or recently dead.
func (c *Client) Hosts(ctx context.Context) ([]host.HostStatus, error) {
	r, err := c.rpc.Hosts(ctx, &pb.Empty{})
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	out := make([]host.HostStatus, len(r.GetHosts()))
	for i, h := range r.GetHosts() {
		out[i] = host.HostStatus{Owner: h.GetOwner(), Name: h.GetName(), PID: int(h.GetPid()), Version: h.GetVersion(),
			Tasks: h.GetTasks(), Slots: int(h.GetSlots()), Started: h.GetStarted().AsTime(), Seen: h.GetSeen().AsTime(),
			Alive: h.GetAlive(), Leader: h.GetLeader(), Self: h.GetSelf()}
	}
	return out, nil
}
