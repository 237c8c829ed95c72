package control

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

func (s *service) Submit(ctx context.Context, r *pb.SubmitRequest) (*pb.SubmitResponse, error) {
	spec, err := fromProtoSpec(r.GetSpec())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.resolveSpec(ctx, &spec); err != nil {
		return nil, toStatus(err)
	}
	id, err := s.h.Submit(ctx, spec)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.SubmitResponse{Id: id}, nil
}

func (s *service) SubmitMany(ctx context.Context, r *pb.SubmitManyRequest) (*pb.SubmitManyResponse, error) {
	specs := make([]host.JobSpec, len(r.GetSpecs()))
	for i, ps := range r.GetSpecs() {
		spec, err := fromProtoSpec(ps)
		if err != nil {
			return nil, toStatus(fmt.Errorf("job %d: %w", i+1, err))
		}
		if err := s.resolveSpec(ctx, &spec); err != nil {
			return nil, toStatus(fmt.Errorf("job %d: %w", i+1, err))
		}
		specs[i] = spec
	}
	ids, err := s.h.SubmitMany(ctx, specs)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.SubmitManyResponse{Ids: ids}, nil
}

func (s *service) Create(ctx context.Context, r *pb.SubmitRequest) (*pb.SubmitResponse, error) {
	spec, err := fromProtoSpec(r.GetSpec())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.resolveSpec(ctx, &spec); err != nil {
		return nil, toStatus(err)
	}
	id, err := s.h.Create(ctx, spec)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.SubmitResponse{Id: id}, nil
}

func (s *service) Enqueue(ctx context.Context, r *pb.IDsRequest) (*pb.Empty, error) {
	ids, err := s.jobIDs(ctx, r.GetIds())
	if err != nil {
		return nil, toStatus(err)
	}
	return empty(s.h.SubmitCreated(ctx, ids...))
}

func (s *service) AddDependencies(ctx context.Context, r *pb.AddDependenciesRequest) (*pb.Empty, error) {
	deps, err := fromProtoDeps(r.GetDeps())
	if err != nil {
		return nil, toStatus(fmt.Errorf("%w: %v", host.ErrInvalid, err))
	}
	id, err := s.jobID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	for i, d := range deps {
		if deps[i].Job, err = ref(ctx, s.h.ResolveJobID, d.Job); err != nil {
			return nil, toStatus(fmt.Errorf("dependency %s: %w", d.Job, err))
		}
	}
	return empty(s.h.AddDependencies(ctx, id, deps...))
}

func (s *service) Get(ctx context.Context, r *pb.IDRequest) (*pb.Job, error) {
	id, err := s.jobID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	j, err := s.h.Get(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	return toProtoJob(j), nil
}

func (s *service) List(ctx context.Context, r *pb.ListRequest) (*pb.ListResponse, error) {
	f := host.ListFilter{Task: r.GetTask(), Group: r.GetGroup(), Limit: int(r.GetLimit()), Before: r.GetBefore(), Label: r.GetLabel(), Search: r.GetSearch()}
	for _, p := range r.GetPriorities() {
		hp, err := fromProtoPriority(p)
		if err != nil {
			return nil, toStatus(fmt.Errorf("%w: %v", host.ErrInvalid, err))
		}
		f.Priorities = append(f.Priorities, hp)
	}
	for _, st := range r.GetStates() {
		hs := fromProtoState(st)
		if hs == "" {
			return nil, toStatus(fmt.Errorf("%w: unknown state %d", host.ErrInvalid, int32(st)))
		}
		f.States = append(f.States, hs)
	}
	g, err := ref(ctx, s.h.ResolveGroupID, f.Group)
	if err != nil {
		return nil, toStatus(err)
	}
	f.Group = g
	jobs, next, err := s.h.List(ctx, f)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.ListResponse{Next: next, Jobs: make([]*pb.Job, len(jobs))}
	for i, j := range jobs {
		out.Jobs[i] = toProtoJob(j)
	}
	return out, nil
}

func (s *service) Wait(ctx context.Context, r *pb.IDRequest) (*pb.Job, error) {
	id, err := s.jobID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	j, err := s.h.Wait(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	return toProtoJob(j), nil
}

func (s *service) Result(ctx context.Context, r *pb.IDRequest) (*pb.ResultResponse, error) {
	id, err := s.jobID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	var raw json.RawMessage
	if err := s.h.Result(ctx, id, &raw); err != nil {
		return nil, toStatus(err)
	}
	return &pb.ResultResponse{Result: raw}, nil
}

func (s *service) Cancel(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	id, err := s.jobID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return empty(s.h.Cancel(ctx, id))
}

func (s *service) Pause(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	id, err := s.jobID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return empty(s.h.Pause(ctx, id))
}

func (s *service) Resume(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	id, err := s.jobID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return empty(s.h.Resume(ctx, id))
}

func (s *service) Retry(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	id, err := s.jobID(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return empty(s.h.Retry(ctx, id))
}

func (s *service) Tasks(context.Context, *pb.Empty) (*pb.TasksResponse, error) {
	out := &pb.TasksResponse{}
	for _, t := range s.h.Tasks() {
		out.Tasks = append(out.Tasks, toProtoTask(t))
	}
	return out, nil
}

func (s *service) Stats(ctx context.Context, _ *pb.Empty) (*pb.HostStats, error) {
	st, err := s.h.Stats(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return toProtoStats(st), nil
}

func (s *service) Problems(context.Context, *pb.Empty) (*pb.ProblemsResponse, error) {
	out := &pb.ProblemsResponse{}
	for _, p := range s.h.Problems() {
		out.Problems = append(out.Problems, p.Error())
	}
	return out, nil
}

func (s *service) PauseDispatch(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	return empty(s.h.PauseDispatch(ctx))
}

func (s *service) ResumeDispatch(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	return empty(s.h.ResumeDispatch(ctx))
}

func empty(err error) (*pb.Empty, error) {
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.Empty{}, nil
}
