package host

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batchhost/batchhost/host/internal/jsonshape"
	"github.com/batchhost/batchhost/host/internal/model"
)

// FuzzJobSpec feeds job specs built from arbitrary input (task, args
// JSON, a label, a key, priority, delay, dependency id, a page cursor,
// declared resources) to the validation every submit goes through: it
// never panics, a refusal is ErrInvalid in one line, and an accepted job
// holds no NUL anywhere, compact, valid JSON args of an accepted shape and needs what it
// declared, rounded up to the thousandth of a CPU, within the capacity.
// The same job as a schedule's template is accepted or refused alike,
// and its run needs what the submitted job does.
func FuzzJobSpec(f *testing.F) {
	cfg, err := Config{DataDir: "unused", PluginDir: "unused", Capacity: Resources{CPU: 4, MemoryMB: 4096},
		TaskResources: map[string]Resources{"chaos": {CPU: 0.5, MemoryMB: 64}}}.withDefaults()
	if err != nil {
		f.Fatal(err)
	}
	f.Add("chaos.noop", []byte(`{"ms": 20}`), "team", "docs", "", int8(0), int64(0), "", "", false, 0.0, 0)
	f.Add("docs.extract", []byte(`{"path":"/a/b.pdf","pages":[1,2,3]}`), "batchhost.schedule", "x", "key-1", int8(2), int64(time.Hour), "01a22fa7-d173-77d8-90ff-d674f5557abe", "01a22fa7-d173-77d8-90ff-d674f5557abe", false, 0.0, 0)
	f.Add("bad", []byte(`{"a":`), "", "", "k\n", int8(9), int64(-1), "x", "NOT-AN-ID", true, -1.0, -1)
	f.Add(" a.b ", []byte("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"), "k\x00", "\xff", "", int8(-1), int64(1), "", "", true, 1.5, 800)
	f.Fuzz(func(t *testing.T, task string, args []byte, labelKey, labelValue, key string, prio int8, delay int64, dep, cursor string,
		declare bool, cpu float64, memoryMB int) {
		spec := JobSpec{Task: task, Priority: Priority(prio), Delay: time.Duration(delay), Key: key}
		if len(args) > 0 {
			spec.Args = json.RawMessage(args)
		}
		if labelKey != "" || labelValue != "" {
			spec.Labels = map[string]string{labelKey: labelValue}
		}
		if dep != "" {
			spec.DependsOn = []Dep{{Job: dep}}
		}
		if declare {
			spec.Resources = &Resources{CPU: cpu, MemoryMB: memoryMB}
		}
		j, err := cfg.buildJob(spec, newID(), time.Now())
		if err != nil {
			wantRefusal(t, "refusal", err)
		} else {
			if len(j.Args) > 0 {
				if !json.Valid(j.Args) {
					t.Fatalf("accepted args are not valid JSON: %q", j.Args)
				}
				if strings.ContainsAny(string(j.Args), "\n\t") {
					t.Fatalf("accepted args are not compact: %q", j.Args)
				}
			}
			checkNeed(t, &cfg, spec.Resources, j.Resources)
			for k, v := range j.Labels {
				if model.HasNUL(k + v) {
					t.Fatalf("accepted label %q=%q holds NUL, which PostgreSQL cannot store", k, v)
				}
			}
			if model.HasNUL(j.Task+j.Key) || len(j.Args) > 0 && jsonshape.Check(j.Args) != nil {
				t.Fatalf("accepted task %q, key %q or args %q hold NUL", j.Task, j.Key, j.Args)
			}
		}
		if err := checkCursor(cursor); err != nil && (!errors.Is(err, ErrInvalid) || strings.ContainsAny(err.Error(), "\n\r")) {
			t.Fatalf("cursor refusal %q", err)
		}

		// The job as a schedule's template (without what a schedule sets).
		tmpl := JobSpec{Task: spec.Task, Args: spec.Args, Priority: spec.Priority, Labels: spec.Labels, Resources: spec.Resources}
		now := time.Now()
		s, err := cfg.buildSchedule(ScheduleSpec{Name: "fuzz", Cron: "@hourly", Job: tmpl}, newID(), now)
		if err != nil {
			wantRefusal(t, "schedule refusal", err)
			return
		}
		sub, err := cfg.buildJob(tmpl, newID(), now)
		if err != nil {
			t.Fatalf("a schedule's template was accepted, the job refused: %v", err)
		}
		run, err := cfg.buildRun(s, now, true, nil)
		if err != nil {
			t.Fatalf("a schedule's run was refused: %v", err)
		}
		if run.Resources != sub.Resources {
			t.Fatalf("a schedule's run needs %v, the job submitted %v (declared %+v)", run.Resources, sub.Resources, spec.Resources)
		}
	})
}

// wantRefusal fails unless err is ErrInvalid in one line.
func wantRefusal(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("%s %q is not ErrInvalid", what, err)
	}
	if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("%s is not one line: %q", what, msg)
	}
}

// checkNeed fails unless an accepted job's need is within the capacity,
// is what it declared rounded up to the thousandth of a CPU, and survives
// the trip to the public form and back (a schedule's template and the
// control API carry the public form).
func checkNeed(t *testing.T, cfg *Config, declared *Resources, need model.Resources) {
	t.Helper()
	if need.MilliCPU < 0 || need.MemoryMB < 0 || need.Lacks(cfg.capacity) != 0 {
		t.Fatalf("accepted need %v: negative or beyond the capacity %v", need, cfg.capacity)
	}
	if back := toResources(need).internal(); back != need {
		t.Fatalf("need %v comes back from its public form %+v as %v", need, toResources(need), back)
	}
	if declared == nil {
		return
	}
	if milli := declared.CPU * 1000; float64(need.MilliCPU) < milli-1e-3 || float64(need.MilliCPU) >= milli+1 {
		t.Fatalf("declared cpu %v needs %d thousandths: want it rounded up to the thousandth", declared.CPU, need.MilliCPU)
	}
	if need.MemoryMB != int64(declared.MemoryMB) {
		t.Fatalf("declared memory_mb %d needs %d", declared.MemoryMB, need.MemoryMB)
	}
}
