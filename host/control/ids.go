package control

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/batchhost/batchhost/host"
)

// The server resolves id prefixes (host.ResolveJobID) for every request
// that names a job or group, so that every client takes them.

// jobID is the whole id of the job a request names by id or prefix.
func (s *service) jobID(ctx context.Context, id string) (string, error) {
	return s.h.ResolveJobID(ctx, id)
}

// groupID is the whole id of the group a request names by id or prefix.
func (s *service) groupID(ctx context.Context, id string) (string, error) {
	return s.h.ResolveGroupID(ctx, id)
}

func (s *service) jobIDs(ctx context.Context, ids []string) ([]string, error) {
	out := make([]string, len(ids))
	for i, id := range ids {
		var err error
		if out[i], err = s.jobID(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ref resolves an id a request refers to besides the one it acts on (a
// dependency, a filter): a prefix naming one job or group becomes its
// id, anything else not found is kept as given for the host call to judge
// as it always has; only an ambiguous prefix is an error here.
func ref(ctx context.Context, resolve func(context.Context, string) (string, error), id string) (string, error) {
	full, err := resolve(ctx, id)
	if errors.Is(err, host.ErrNotFound) {
		return id, nil
	}
	return full, err
}

// resolveSpec resolves the dependencies and group a job spec refers to.
func (s *service) resolveSpec(ctx context.Context, spec *host.JobSpec) error {
	for i, d := range spec.DependsOn {
		id, err := ref(ctx, s.h.ResolveJobID, d.Job)
		if err != nil {
			return fmt.Errorf("dependency %s: %w", d.Job, err)
		}
		spec.DependsOn[i].Job = id
	}
	g, err := ref(ctx, s.h.ResolveGroupID, spec.Group)
	if err != nil {
		return err
	}
	spec.Group = g
	return nil
}

// resolveFilter resolves the jobs and groups an event filter names.
func (s *service) resolveFilter(ctx context.Context, f *host.EventFilter) error {
	f.Jobs, f.Groups = slices.Clone(f.Jobs), slices.Clone(f.Groups)
	for i, id := range f.Jobs {
		full, err := ref(ctx, s.h.ResolveJobID, id)
		if err != nil {
			return err
		}
		f.Jobs[i] = full
	}
	for i, id := range f.Groups {
		full, err := ref(ctx, s.h.ResolveGroupID, id)
		if err != nil {
			return err
		}
		f.Groups[i] = full
	}
	return nil
}
