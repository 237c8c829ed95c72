package control

import (
	"math"

	"github.com/batchhost/batchhost/host"
	pb "github.com/batchhost/batchhost/proto/controlpb"
)

// toProtoResources is nil for nil: unset on the wire.
func toProtoResources(r *host.Resources) *pb.Resources {
	if r == nil {
		return nil
	}
	return &pb.Resources{Cpu: r.CPU, MemoryMb: int64(r.MemoryMB)}
}

// fromProtoResources is nil for unset. A memory beyond int stays beyond
// any capacity, for the host to refuse.
func fromProtoResources(r *pb.Resources) *host.Resources {
	if r == nil {
		return nil
	}
	return &host.Resources{CPU: r.GetCpu(), MemoryMB: int(min(max(r.GetMemoryMb(), math.MinInt), math.MaxInt))}
}
