package control

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

func (s *service) Delete(ctx context.Context, r *pb.IDsRequest) (*pb.DeleteResponse, error) {
	ids, err := s.jobIDs(ctx, r.GetIds())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.h.Delete(ctx, ids...); err != nil {
		return nil, toStatus(err)
	}
	return &pb.DeleteResponse{Ids: ids}, nil
}

func (s *service) Purge(ctx context.Context, r *pb.PurgeRequest) (*pb.PurgeResponse, error) {
	f, err := fromProtoPurge(r)
	if err != nil {
		return nil, toStatus(err)
	}
	n, err := s.h.Purge(ctx, f)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.PurgeResponse{Deleted: int64(n)}, nil
}

// Delete deletes finished jobs and their logs, all or none; see
// host.Host.Delete. Unlike the host's, it answers the whole ids of the
// jobs deleted, since the host resolves the prefixes it was given.
func (c *Client) Delete(ctx context.Context, ids ...string) ([]string, error) {
	r, err := c.rpc.Delete(ctx, &pb.IDsRequest{Ids: ids})
	if err != nil {
		return nil, c.fromStatus(ctx, err)
	}
	return r.GetIds(), nil
}

// Purge deletes every finished job f selects, with its logs, and returns
// how many; see host.Host.Purge.
func (c *Client) Purge(ctx context.Context, f host.PurgeFilter) (int, error) {
	r, err := c.rpc.Purge(ctx, toProtoPurge(f))
	if err != nil {
		return 0, c.fromStatus(ctx, err)
	}
	return int(r.GetDeleted()), nil
}

func toProtoPurge(f host.PurgeFilter) *pb.PurgeRequest {
	r := &pb.PurgeRequest{Task: f.Task}
	for _, st := range f.States {
		r.States = append(r.States, toProtoState(st))
	}
	if f.OlderThan != 0 {
		r.OlderThan = durationpb.New(f.OlderThan)
	}
	return r
}

// fromProtoPurge refuses a state this build does not know rather than
// dropping it: a purge with one state fewer deletes other jobs.
func fromProtoPurge(r *pb.PurgeRequest) (host.PurgeFilter, error) {
	f := host.PurgeFilter{Task: r.GetTask()}
	for _, st := range r.GetStates() {
		hs := fromProtoState(st)
		if hs == "" {
			return f, fmt.Errorf("%w: purge: unknown state %d", host.ErrInvalid, int32(st))
		}
		f.States = append(f.States, hs)
	}
	if d := r.GetOlderThan(); d != nil {
		if err := d.CheckValid(); err != nil {
			return f, fmt.Errorf("%w: purge: older_than: %v", host.ErrInvalid, err)
		}
		f.OlderThan = d.AsDuration()
	}
	return f, nil
}
