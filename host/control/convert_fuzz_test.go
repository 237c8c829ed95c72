package control

import (
	"errors"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/batchhost/batchhost/proto/controlpb"

	"github.com/batchhost/batchhost/host"
)

// FuzzRequestConversion decodes arbitrary bytes as the control API's
// messages (job and schedule specs, list, purge and event filters that a
// client on the socket may send; a job, a schedule and stats, as a client
// reads them back) and converts them as the server and client do:
// nothing panics, a refused spec is ErrInvalid, and an accepted spec
// converts back to the wire with its declared resources exactly as sent
// (NaN, infinities and negative needs included: the host refuses them,
// so the conversion must not mend them on the way).
func FuzzRequestConversion(f *testing.F) {
	for _, s := range []*pb.JobSpec{
		{Task: "chaos.noop"},
		{Task: "chaos.sleep", Args: []byte(`{"ms":20}`), Priority: pb.Priority_PRIORITY_HIGH, MaxAttempts: 3, Key: "k",
			Labels: map[string]string{"team": "docs"}, DependsOn: []*pb.Dep{{Job: "01a22fa7-d173-77d8-90ff-d674f5557abe"}}},
		{Task: "x.y", Priority: pb.Priority(42), DependsOn: []*pb.Dep{{Job: "a", Policy: pb.DepPolicy(7)}}},
		{Task: "chaos.sleep", Resources: &pb.Resources{Cpu: 1.5, MemoryMb: 800}},
		{Task: "chaos.sleep", Resources: &pb.Resources{Cpu: math.NaN(), MemoryMb: -1}},
		{Task: "chaos.sleep", Resources: &pb.Resources{Cpu: math.Inf(-1), MemoryMb: math.MaxInt64}},
		{Task: "chaos.sleep", Resources: &pb.Resources{Cpu: 0.0005}},
		{Task: "chaos.sleep", Resources: &pb.Resources{}},
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
				back, err := toProtoSpec(spec)
				if err != nil && !errors.Is(err, host.ErrInvalid) {
					t.Fatalf("an accepted spec does not go back on the wire: %v", err)
				}
				if err == nil {
					sameResources(t, "job spec", s.GetResources(), back.GetResources())
				}
			}
		}
		var j pb.Job
		if proto.Unmarshal(data, &j) == nil {
			sameResources(t, "job", j.GetResources(), toProtoResources(fromProtoJob(&j).Resources))
		}
		var ss pb.ScheduleSpec
		if proto.Unmarshal(data, &ss) == nil {
			spec, err := fromProtoScheduleSpec(&ss)
			if err != nil && !errors.Is(err, host.ErrInvalid) {
				t.Fatalf("schedule refusal %q is not ErrInvalid", err)
			}
			if err == nil {
				if back, err := toProtoScheduleSpec(spec); err == nil {
					sameResources(t, "schedule spec", ss.GetJob().GetResources(), back.GetJob().GetResources())
				}
			}
		}
		var sc pb.Schedule
		if proto.Unmarshal(data, &sc) == nil {
			sameResources(t, "schedule", sc.GetResources(), toProtoSchedule(fromProtoSchedule(&sc)).GetResources())
		}
		var st pb.HostStats
		if proto.Unmarshal(data, &st) == nil {
			_ = toProtoStats(fromProtoStats(&st))
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

// sameResources fails unless got carries exactly what sent did: unset
// stays unset, a CPU keeps its bits (a NaN too), a memory its value.
func sameResources(t *testing.T, what string, sent, got *pb.Resources) {
	t.Helper()
	if (sent == nil) != (got == nil) {
		t.Fatalf("%s: resources %v came back as %v", what, sent, got)
	}
	if sent != nil && (math.Float64bits(sent.GetCpu()) != math.Float64bits(got.GetCpu()) || sent.GetMemoryMb() != got.GetMemoryMb()) {
		t.Fatalf("%s: resources %v came back as %v", what, sent, got)
	}
}
