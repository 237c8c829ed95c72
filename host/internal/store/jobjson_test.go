package store

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/model"
)

// checkJobJSON fails unless appendJobJSON makes json.Marshal's bytes for
// j, or hands j to json.Marshal where json.Marshal fails.
func checkJobJSON(t *testing.T, j *model.Job) {
	t.Helper()
	want, werr := json.Marshal(j)
	got, ok := appendJobJSON(nil, j)
	if werr != nil {
		if ok {
			t.Errorf("json.Marshal fails (%v); appendJobJSON made %s", werr, got)
		}
		return
	}
	if !ok {
		// Handed to json.Marshal: allowed, as long as it is rare (the
		// cases below count on the fast path for ordinary records).
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("appendJobJSON differs from json.Marshal:\n got %s\nwant %s", got, want)
	}
}

// fillFields sets every exported field reachable from v to a value that is not
// its zero, so that a field json.Marshal writes and appendJobJSON does not
// know shows as a difference.
func fillFields(v reflect.Value, n *int) {
	*n++
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 12, 1, 6, 0, 0, *n, time.UTC)))
		return
	case v.Type() == reflect.TypeFor[json.RawMessage]():
		v.SetBytes([]byte(`{"n":` + strings.Repeat("1", *n%5+1) + `}`))
		return
	case v.Type() == reflect.TypeFor[model.Priority]():
		v.SetInt(int64(model.Critical))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + strings.Repeat("x", *n%7))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.25)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fillFields(p.Elem(), n)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillFields(s.Index(i), n)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 3 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fillFields(k, n)
			fillFields(e, n)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillFields(v.Field(i), n)
			}
		}
	}
}

// TestJobJSONMatches: the record encoder writes every field of a job as
// json.Marshal does, with every field set (a field added to model.Job
// fails here until the encoder writes it), with none set, and with values
// json escapes or refuses.
func TestJobJSONMatches(t *testing.T) {
	full := &model.Job{}
	n := 0
	fillFields(reflect.ValueOf(full).Elem(), &n)
	if _, ok := appendJobJSON(nil, full); !ok {
		t.Fatal("a job with every field set was handed to json.Marshal")
	}
	checkJobJSON(t, full)
	checkJobJSON(t, &model.Job{})
	plain := &model.Job{ID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Task: "chaos.noop", State: model.Queued, MaxAttempts: 3,
		Backoff: model.Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 2, Jitter: 0.1}, CreatedAt: time.Now()}
	if _, ok := appendJobJSON(nil, plain); !ok {
		t.Error("a plain job was handed to json.Marshal")
	}
	checkJobJSON(t, plain)

	odd := []func(j *model.Job){
		func(j *model.Job) { j.Task = `a"b\c<d>e&f` },
		func(j *model.Job) {
			j.Progress.Message = "tab\there\nnewline \x00 \x7f é 日本 \u2028 \u2029 \xff invalid"
		},
		func(j *model.Job) { j.Labels = map[string]string{"<k>": "v&", "é": "\u2028", "a": ""} },
		func(j *model.Job) { j.Args = json.RawMessage(`{ "a" : [1, 2 ,3] }`) },
		func(j *model.Job) { j.Args = json.RawMessage(`"<script>&"`) },
		func(j *model.Job) { j.Args = json.RawMessage(`"é\u2028"`) },
		func(j *model.Job) { j.Result = json.RawMessage(`{"a":`) },
		func(j *model.Job) { j.Result = json.RawMessage(`null`) },
		func(j *model.Job) { j.Args = json.RawMessage(`1e400`) },
		func(j *model.Job) { j.Backoff.Multiplier = 1e21 },
		func(j *model.Job) { j.Backoff.Jitter = 1e-7 },
		func(j *model.Job) { j.Backoff.Jitter = -0.000001 },
		func(j *model.Job) { j.Backoff.Multiplier = math.NaN() },
		func(j *model.Job) { j.Progress.Fraction = math.Inf(1) },
		func(j *model.Job) { j.Progress.Fraction = 1.0 / 3 },
		func(j *model.Job) { j.Progress.Fraction = math.Copysign(0, -1) },
		func(j *model.Job) { j.Priority = 7 },
		func(j *model.Job) { j.Priority = model.Low },
		func(j *model.Job) { j.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		func(j *model.Job) { j.CreatedAt = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) },
		func(j *model.Job) {
			j.StartedAt = time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 5*3600+1800))
		},
		func(j *model.Job) { j.StartedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", -25*3600)) },
		func(j *model.Job) { j.RunAt = time.Unix(0, 1).In(time.Local) },
		func(j *model.Job) { j.Attempts = []model.AttemptRecord{} },
		func(j *model.Job) { j.DependsOn = []model.Dep{{ID: "a"}, {ID: "b", Policy: model.DepIgnore}} },
		func(j *model.Job) { j.Error = &model.JobError{Kind: "crash", Message: "exit 2"} },
		func(j *model.Job) { j.Resources = model.Resources{MemoryMB: 5} },
		func(j *model.Job) { j.Resources = model.Resources{MilliCPU: -5} },
		func(j *model.Job) { j.Trace = model.TraceContext{State: "k=v"} },
		func(j *model.Job) { j.Timeout, j.StallTimeout = -1, math.MaxInt64 },
	}
	for _, set := range odd {
		for _, base := range []*model.Job{plain, full} {
			j := base.Clone()
			set(j)
			checkJobJSON(t, j)
		}
	}
}

// TestJobJSONRandom compares the encoder with json.Marshal on jobs of
// random strings, numbers and times.
func TestJobJSONRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", " ", `"`, `\`, "<", ">", "&", "\n", "\x01", "\x7f", "é", "\u2028", "\xff", "日"}
	str := func() string {
		var sb strings.Builder
		for range r.IntN(8) {
			sb.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return sb.String()
	}
	tm := func() time.Time {
		if r.IntN(4) == 0 {
			return time.Time{}
		}
		return time.Unix(r.Int64N(1<<35), r.Int64N(1e9)).In(time.FixedZone("", (r.IntN(48)-24)*1800))
	}
	num := func() float64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return r.Float64()
		case 2:
			return r.NormFloat64() * 1e6
		}
		return math.Ldexp(r.Float64(), r.IntN(160)-80)
	}
	for range 3000 {
		j := &model.Job{ID: str(), Task: str(), State: model.State(str()), PausedFrom: model.State(str()), Group: str(), Key: str(),
			Schedule: str(), MaxAttempts: r.IntN(10) - 2, Attempt: r.IntN(5), AttemptBase: r.IntN(3), Owner: str(),
			Priority: model.Priority(r.IntN(5) - 2), CancelRequested: r.IntN(2) == 0,
			Backoff:  model.Backoff{Initial: time.Duration(r.Int64()), Max: time.Duration(r.Int64N(9)), Multiplier: num(), Jitter: num()},
			Progress: model.Progress{Fraction: num(), Message: str()}, CreatedAt: tm(), QueuedAt: tm(), StartedAt: tm(), FinishedAt: tm(), RunAt: tm()}
		if r.IntN(2) == 0 {
			j.Args = json.RawMessage(`{"s":` + string(mustMarshal(str())) + `, "n":` + string(mustMarshal(num())) + `}`)
		}
		if r.IntN(3) == 0 {
			j.Labels = map[string]string{str(): str(), str(): str()}
		}
		for range r.IntN(3) {
			a := model.AttemptRecord{Attempt: r.IntN(4), StartedAt: tm(), FinishedAt: tm(), Owner: str()}
			if r.IntN(2) == 0 {
				a.Error = &model.JobError{Kind: "k", Message: str(), Stderr: str(), Retryable: r.IntN(2) == 0}
			}
			j.Attempts = append(j.Attempts, a)
		}
		checkJobJSON(t, j)
	}
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkEncodeJob is the encoding of a short job's record.
func BenchmarkEncodeJob(b *testing.B) {
	now := time.Now()
	j := &model.Job{ID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Task: "chaos.noop", State: model.Completed, MaxAttempts: 3,
		Backoff: model.Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 2, Jitter: 0.1}, CreatedAt: now, QueuedAt: now,
		StartedAt: now, FinishedAt: now, Attempt: 1, Owner: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c",
		Attempts: []model.AttemptRecord{{Attempt: 1, StartedAt: now, FinishedAt: now, Owner: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"}},
		Progress: model.Progress{Fraction: 1}}
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(j); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("record", func(b *testing.B) {
		for b.Loop() {
			if _, err := encodeJob(j); err != nil {
				b.Fatal(err)
			}
		}
	})
}
