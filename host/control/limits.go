package control

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/batchhost/batchhost/host"
)

// MaxRequestBytes is the most one control request may carry to a host
// with the default MaxArgsBytes (1 MiB): 16 MiB. The largest request a
// valid call needs is a SubmitMany, which a client splits into requests of
// at most this size (SplitSubmit; the CLI's --batch does); every other
// request is far smaller. The server refuses a larger message from its
// length, before reading it, so that a client cannot make the host hold
// more than this per call.
//
// A host whose MaxArgsBytes is larger accepts one job's args plus
// specRoom: what a single job needs.
const MaxRequestBytes = 16 << 20

// specRoom is what the rest of a spec may take beside its args: task,
// labels (64 at most), key, group, and a few thousand dependencies.
const specRoom = 1 << 20

// receiveLimit is the server's receive limit for a host that accepts args
// of up to maxArgs bytes.
func receiveLimit(maxArgs int) int { return max(MaxRequestBytes, maxArgs+specRoom) }

// SplitSubmit splits specs, in order, into runs whose SubmitMany request
// each fits in MaxRequestBytes, for a caller that must submit more than
// one request carries. Each run is committed on its own: all or none per
// run, not across runs. A spec too big to share a request is alone in
// its run.
func SplitSubmit(specs []host.JobSpec) ([][]host.JobSpec, error) {
	var runs [][]host.JobSpec
	start, size := 0, 0
	for i, s := range specs {
		n, err := SubmitSize(s)
		if err != nil {
			return nil, err
		}
		if i > start && size+n > MaxRequestBytes {
			runs = append(runs, specs[start:i])
			start, size = i, 0
		}
		size += n
	}
	if start < len(specs) {
		runs = append(runs, specs[start:])
	}
	return runs, nil
}

// SubmitSize is what one spec adds to a SubmitMany request, so that a
// caller reading specs one by one (a streamed batch) can cut its runs as
// SplitSubmit does without holding them all.
func SubmitSize(s host.JobSpec) (int, error) {
	ps, err := toProtoSpec(s)
	if err != nil {
		return 0, err
	}
	n := proto.Size(ps)
	return n + protowire.SizeTag(1) + protowire.SizeVarint(uint64(n)), nil
}
