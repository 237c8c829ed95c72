package control

import (
	"context"
	"fmt"

	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

func (s *service) CreateGroup(ctx context.Context, r *pb.GroupSpec) (*pb.IDResponse, error) {
	id, err := s.h.CreateGroup(ctx, host.GroupSpec{Name: r.GetName(), Sequential: r.GetSequential(), CancelOnFailure: r.GetCancelOnFailure()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.IDResponse{Id: id}, nil
}

func (s *service) AddToGroup(ctx context.Context, r *pb.AddToGroupRequest) (*pb.Empty, error) {
	if len(r.GetJobs()) > 0 && r.GetJob() != "" {
		return nil, toStatus(fmt.Errorf("%w: set job or jobs, not both", host.ErrInvalid))
	}
	group, err := s.groupID(ctx, r.GetGroup())
	if err != nil {
		return nil, toStatus(err)
	}
	if len(r.GetJobs()) > 0 {
		jobs, err := s.jobIDs(ctx, r.GetJobs())
		if err != nil {
			return nil, toStatus(err)
		}
		return empty(s.h.AddJobsToGroup(ctx, group, jobs...))
	}
	job, err := s.jobID(ctx, r.GetJob())
	if err != nil {
		return nil, toStatus(err)
	}
	return empty(s.h.AddToGroup(ctx, job, group))
}

func (s *service) GetGroup(ctx context.Context, r *pb.IDRequest) (*pb.Group, error) {
	id, err := s.groupID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	g, err := s.h.GetGroup(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	return toProtoGroup(g), nil
}

func (s *service) ListGroups(ctx context.Context, r *pb.ListGroupsRequest) (*pb.ListGroupsResponse, error) {
	groups, next, err := s.h.ListGroups(ctx, r.GetBefore(), int(r.GetLimit()))
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.ListGroupsResponse{Next: next, Groups: make([]*pb.Group, len(groups))}
	for i, g := range groups {
		out.Groups[i] = toProtoGroup(g)
	}
	return out, nil
}

func (s *service) WaitGroup(ctx context.Context, r *pb.IDRequest) (*pb.Group, error) {
	id, err := s.groupID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	g, err := s.h.WaitGroup(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	return toProtoGroup(g), nil
}

func (s *service) CancelGroup(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	id, err := s.groupID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return empty(s.h.CancelGroup(ctx, id))
}

func (s *service) PauseGroup(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	id, err := s.groupID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return empty(s.h.PauseGroup(ctx, id))
}

func (s *service) ResumeGroup(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	id, err := s.groupID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return empty(s.h.ResumeGroup(ctx, id))
}

func (s *service) SubmitGroup(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	id, err := s.groupID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return empty(s.h.SubmitGroup(ctx, id))
}
