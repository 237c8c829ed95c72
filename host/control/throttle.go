package control

import (
	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

func toProtoThrottled(ts []host.Throttle) []*pb.Throttle {
	out := make([]*pb.Throttle, len(ts))
	for i, t := range ts {
		out[i] = &pb.Throttle{Name: t.Name, Next: toProtoTime(t.Next)}
	}
	return out
}

// fromProtoThrottled is never nil, as the host's Stats.Throttled is not.
func fromProtoThrottled(ts []*pb.Throttle) []host.Throttle {
	out := make([]host.Throttle, len(ts))
	for i, t := range ts {
		out[i] = host.Throttle{Name: t.GetName(), Next: fromProtoTime(t.GetNext())}
	}
	return out
}
