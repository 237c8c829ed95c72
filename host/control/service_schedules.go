package control

import (
	"context"

	pb "github.com/batchhost/batchhost/proto/controlpb"
)

func (s *service) CreateSchedule(ctx context.Context, r *pb.ScheduleSpec) (*pb.IDResponse, error) {
	spec, err := fromProtoScheduleSpec(r)
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.resolveSpec(ctx, &spec.Job); err != nil {
		return nil, toStatus(err)
	}
	id, err := s.h.CreateSchedule(ctx, spec)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.IDResponse{Id: id}, nil
}

func (s *service) GetSchedule(ctx context.Context, r *pb.IDRequest) (*pb.Schedule, error) {
	sc, err := s.h.GetSchedule(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return toProtoSchedule(sc), nil
}

func (s *service) ListSchedules(ctx context.Context, _ *pb.ListSchedulesRequest) (*pb.ListSchedulesResponse, error) {
	list, err := s.h.ListSchedules(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.ListSchedulesResponse{Schedules: make([]*pb.Schedule, len(list))}
	for i, sc := range list {
		out.Schedules[i] = toProtoSchedule(sc)
	}
	return out, nil
}

func (s *service) PauseSchedule(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	return empty(s.h.PauseSchedule(ctx, r.GetId()))
}

func (s *service) ResumeSchedule(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	return empty(s.h.ResumeSchedule(ctx, r.GetId()))
}

func (s *service) DeleteSchedule(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	return empty(s.h.DeleteSchedule(ctx, r.GetId()))
}

func (s *service) TriggerSchedule(ctx context.Context, r *pb.IDRequest) (*pb.IDResponse, error) {
	id, err := s.h.TriggerSchedule(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.IDResponse{Id: id}, nil
}
