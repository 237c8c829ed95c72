package control

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/batchhost/batchhost/proto/controlpb"

	"github.com/batchhost/batchhost/host"
)

// FuzzRequestConversion decodes arbitrary bytes as the control API's
// messages (job and schedule specs, list, purge and event filters that a
// client on the socket may send; a job, as a client reads it back) and converts them as the server and client do:
// nothing panics, a refused spec is ErrInvalid, and an accepted spec
// converts back to the wire.
func FuzzRequestConversion(f *testing.F) {
	for _, s := range []*pb.JobSpec{
		{Task: "chaos.noop"},
		{Task: "chaos.sleep", Args: []byte(`{"ms":20}`), Priority: pb.Priority_PRIORITY_HIGH, MaxAttempts: 3, Key: "k",
			Labels: map[string]string{"team": "docs"}, DependsOn: []*pb.Dep{{Job: "01a22fa7-d173-77d8-90ff-d674f5557abe"}}},
		{Task: "x.y", Priority: pb.Priority(42), DependsOn: []*pb.Dep{{Job: "a", Policy: pb.DepPolicy(7)}}},
	} {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s pb.JobSpec
		if proto.Unmarshal(data, &s) == nil {
			spec, err := fromProtoSpec(&s)
			if err != nil && !errors.Is(err, host.ErrInvalid) {
				t.Fatalf("refusal %q is not ErrInvalid", err)
			}
			if err == nil {
				if _, err := toProtoSpec(spec); err != nil && !errors.Is(err, host.ErrInvalid) {
					t.Fatalf("an accepted spec does not go back on the wire: %v", err)
				}
			}
		}
		var j pb.Job
		if proto.Unmarshal(data, &j) == nil {
			_ = fromProtoJob(&j)
		}
		var ss pb.ScheduleSpec
		if proto.Unmarshal(data, &ss) == nil {
			if _, err := fromProtoScheduleSpec(&ss); err != nil && !errors.Is(err, host.ErrInvalid) {
				t.Fatalf("schedule refusal %q is not ErrInvalid", err)
			}
		}
		var pr pb.PurgeRequest
		if proto.Unmarshal(data, &pr) == nil {
			_, _ = fromProtoPurge(&pr)
		}
		var ef pb.EventFilter
		if proto.Unmarshal(data, &ef) == nil {
			_ = fromProtoFilter(&ef)
		}
		var l pb.ListRequest
		if proto.Unmarshal(data, &l) == nil {
			for _, p := range l.GetPriorities() {
				_, _ = fromProtoPriority(p)
			}
			for _, st := range l.GetStates() {
				_ = fromProtoState(st)
			}
		}
	})
}
