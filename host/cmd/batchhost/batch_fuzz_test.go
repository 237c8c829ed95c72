package main

import (
	"bytes"
	"testing"
)

// FuzzReadBatch: any file either is refused with an error or gives one
// spec per job line, each with a task, at increasing line numbers; it
// never panics.
func FuzzReadBatch(f *testing.F) {
	for _, s := range []string{
		`{"task":"chaos.echo","args":{"n":1}}`,
		"\ufeff" + `{"task":"a.b","priority":"high","depends_on":["x",{"id":"y","policy":"ignore"}],"group":"g"}` + "\n# comment\n\n" + `{"task":"a.c","timeout":"30s","delay":"1m","stall_timeout":"5s","labels":{"k":"v"},"key":"k","max_attempts":3}`,
		`{"task":"a.b","args":null}`,
		`{"task":"a.b"} {"task":"a.c"}`,
		`{"task":"a.b","depends_on":[{"id":"","policy":"x"}]}`,
		`{"task":"a.b","timeout":"5 minutes"}`,
		`{"task":`,
		"{\"task\":\"a\xff\"}",
		`[]`,
		`{"tsk":"a.b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		specs, lines, err := readBatch(bytes.NewReader(data))
		if err != nil {
			if specs != nil || lines != nil {
				t.Fatalf("an error (%v) with specs", err)
			}
			return
		}
		if len(specs) == 0 || len(specs) != len(lines) {
			t.Fatalf("%d specs, %d line numbers", len(specs), len(lines))
		}
		for i, s := range specs {
			if s.Task == "" {
				t.Fatalf("spec %d has no task", i)
			}
			if i > 0 && lines[i] <= lines[i-1] {
				t.Fatalf("line numbers %v do not increase", lines)
			}
		}
	})
}
