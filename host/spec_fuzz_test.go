package host

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzJobSpec feeds job specs built from arbitrary input (task, args
// JSON, a label, a key, priority, delay, dependency id, a page cursor) to
// the validation every submit goes through: it never panics, a refusal is
// ErrInvalid in one line, and an accepted job holds compact, valid JSON
// args of an accepted shape.
func FuzzJobSpec(f *testing.F) {
	cfg, err := Config{DataDir: "unused", PluginDir: "unused"}.withDefaults()
	if err != nil {
		f.Fatal(err)
	}
	f.Add("chaos.noop", []byte(`{"ms": 20}`), "team", "docs", "", int8(0), int64(0), "", "")
	f.Add("docs.extract", []byte(`{"path":"/a/b.pdf","pages":[1,2,3]}`), "batchhost.schedule", "x", "key-1", int8(2), int64(time.Hour), "01a22fa7-d173-77d8-90ff-d674f5557abe", "01a22fa7-d173-77d8-90ff-d674f5557abe")
	f.Add("bad", []byte(`{"a":`), "", "", "k\n", int8(9), int64(-1), "x", "NOT-AN-ID")
	f.Add(" a.b ", []byte("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"), "k\x00", "\xff", "", int8(-1), int64(1), "", "")
	f.Fuzz(func(t *testing.T, task string, args []byte, labelKey, labelValue, key string, prio int8, delay int64, dep, cursor string) {
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
		j, err := cfg.buildJob(spec, newID(), time.Now())
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal %q is not ErrInvalid", err)
			}
			if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("refusal is not one line: %q", msg)
			}
		} else if len(j.Args) > 0 {
			if !json.Valid(j.Args) {
				t.Fatalf("accepted args are not valid JSON: %q", j.Args)
			}
			if strings.ContainsAny(string(j.Args), "\n\t") {
				t.Fatalf("accepted args are not compact: %q", j.Args)
			}
		}
		if err := checkCursor(cursor); err != nil && (!errors.Is(err, ErrInvalid) || strings.ContainsAny(err.Error(), "\n\r")) {
			t.Fatalf("cursor refusal %q", err)
		}
	})
}
