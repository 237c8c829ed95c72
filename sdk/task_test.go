package sdk

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

type decArgs struct {
	N    int    `json:"n"`
	Name string `json:"name"`
}

type checkedArgs struct {
	N int `json:"n"`
}

func (a checkedArgs) Validate() error {
	if a.N < 0 {
		return errors.New("n must be >= 0")
	}
	return nil
}

type ptrChecked struct{ N int }

func (a *ptrChecked) Validate() error {
	if a.N == 0 {
		return errors.New("n is required")
	}
	return nil
}

func TestDecodeArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		want    decArgs
		wantErr string // substring; "" for success
	}{
		{"object", `{"n":3,"name":"x"}`, decArgs{N: 3, Name: "x"}, ""},
		{"empty", ``, decArgs{}, ""},
		{"blank", " \n\t", decArgs{}, ""},
		{"null", `null`, decArgs{}, ""},
		{"null padded", ` null `, decArgs{}, ""},
		{"unknown field", `{"n":1,"nmae":"x"}`, decArgs{}, `unknown field "nmae"`},
		{"wrong type", `{"n":"1"}`, decArgs{}, `field "n": expected an integer, got a string`},
		{"broken", `{"n":`, decArgs{}, "invalid args"},
		{"trailing value", `{"n":1} {"n":2}`, decArgs{}, "unexpected data after the JSON value"},
		{"trailing junk", `{"n":1} x`, decArgs{}, "unexpected data after the JSON value"},
		{"array", `[1]`, decArgs{}, "expected an object, got an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeArgs[decArgs]([]byte(tt.args))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
				return
			}
			assertKind(t, err, "ERROR_KIND_INVALID_ARGS", tt.wantErr)
			if strings.Contains(err.Error(), "json: ") {
				t.Errorf("message %q keeps encoding/json's prefix", err)
			}
		})
	}
}

func TestDecodeArgsValidate(t *testing.T) {
	if _, err := decodeArgs[checkedArgs]([]byte(`{"n":-1}`)); err == nil {
		t.Error("value-receiver Validate was not called")
	} else {
		assertKind(t, err, "ERROR_KIND_INVALID_ARGS", "n must be >= 0")
	}
	if _, err := decodeArgs[checkedArgs]([]byte(`{"n":1}`)); err != nil {
		t.Errorf("valid args refused: %v", err)
	}
	// Validate on *T is found for In = T, and runs on empty args too.
	if _, err := decodeArgs[ptrChecked](nil); err == nil {
		t.Error("pointer-receiver Validate was not called for empty args")
	} else {
		assertKind(t, err, "ERROR_KIND_INVALID_ARGS", "n is required")
	}
	// In = *T with empty args is nil: Validate must not be called on it.
	if got, err := decodeArgs[*ptrChecked](nil); err != nil || got != nil {
		t.Errorf("decode of empty args into *T = %v, %v; want nil, nil", got, err)
	}
	if got, err := decodeArgs[*ptrChecked]([]byte(`{"N":2}`)); err != nil || got.N != 2 {
		t.Errorf("decode into *T = %v, %v", got, err)
	}
}

func TestDecodeArgsRaw(t *testing.T) {
	in := `{ "keep" : "spacing" }`
	got, err := decodeArgs[json.RawMessage]([]byte("  " + in + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != in {
		t.Errorf("raw args %q, want %q", got, in)
	}
}

func TestEncodeOutput(t *testing.T) {
	tests := []struct {
		name    string
		out     any
		want    string
		wantErr string
	}{
		{"struct", decArgs{N: 1, Name: "a<b>&c"}, `{"n":1,"name":"a<b>&c"}`, ""},
		{"nil", nil, `null`, ""},
		{"empty struct", struct{}{}, `{}`, ""},
		{"raw passes through", json.RawMessage(`{ "a" : 1 }`), `{ "a" : 1 }`, ""},
		{"raw empty", json.RawMessage(nil), `null`, ""},
		{"raw invalid", json.RawMessage(`{`), "", "invalid JSON"},
		{"nan", math.NaN(), "", "encode result"},
		{"chan", make(chan int), "", "encode result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeOutput(tt.out)
			if tt.wantErr != "" {
				assertKind(t, err, "ERROR_KIND_PERMANENT", tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestValidatePlugin(t *testing.T) {
	task := NewTask("ok", "fine", noopFn)
	tests := []struct {
		name string
		p    Plugin
		want string // "" for valid
	}{
		{"valid", Plugin{Name: "my-plugin_2", Tasks: []Task{task, NewTask("a.b-c_d", "x", noopFn)}}, ""},
		{"no name", Plugin{Tasks: []Task{task}}, "plugin name is empty"},
		{"upper name", Plugin{Name: "Docs", Tasks: []Task{task}}, `plugin name "Docs" is invalid`},
		{"dotted name", Plugin{Name: "a.b", Tasks: []Task{task}}, `plugin name "a.b" is invalid`},
		{"no tasks", Plugin{Name: "p"}, "has no tasks"},
		{"zero task", Plugin{Name: "p", Tasks: []Task{{}}}, "task 1 is empty"},
		{"leading dot", Plugin{Name: "p", Tasks: []Task{NewTask(".x", "d", noopFn)}}, `task name ".x" is invalid`},
		{"space", Plugin{Name: "p", Tasks: []Task{NewTask("a b", "d", noopFn)}}, `task name "a b" is invalid`},
		{"empty task name", Plugin{Name: "p", Tasks: []Task{NewTask("", "d", noopFn)}}, `task name "" is invalid`},
		{"nil func", Plugin{Name: "p", Tasks: []Task{NewTask[struct{}, struct{}]("x", "d", nil)}}, `task "x" has no function`},
		{"duplicate", Plugin{Name: "p", Tasks: []Task{task, task}}, `task "ok" is declared twice`},
		{"multi-line description", Plugin{Name: "p", Tasks: []Task{NewTask("x", "one\ntwo", noopFn)}}, "one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestResultTooLarge(t *testing.T) {
	res := result(make([]byte, maxOutput+1), nil)
	te := res.GetError()
	if te == nil || te.GetKind().String() != "ERROR_KIND_RESULT_TOO_LARGE" || !strings.Contains(te.GetMessage(), "a plugin can send") {
		t.Fatalf("result = %v, want result_too_large naming the limit", te)
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("short", 10); got != "short" {
		t.Errorf("truncate changed a short string: %q", got)
	}
	const mark = "…(truncated)"
	s := strings.Repeat("ä", 100) // 2 bytes a rune
	got := truncate(s, 51)
	kept := strings.TrimSuffix(got, mark)
	if len(got) > 51 || kept == got || !utf8.ValidString(got) || !strings.HasPrefix(s, kept) || len(kept) < 51-len(mark)-1 {
		t.Errorf("truncate(%d bytes, 51) = %q (%d bytes)", len(s), got, len(got))
	}
}

func noopFn(_ ctxT, _ *Job, _ struct{}) (struct{}, error) { return struct{}{}, nil }

func assertKind(t *testing.T, err error, kind, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s containing %q", kind, msg)
	}
	te := toTaskError(err)
	if te.GetKind().String() != kind || te.GetRetryable() {
		t.Errorf("kind %v retryable %v, want %s not retryable", te.GetKind(), te.GetRetryable(), kind)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("message %q does not contain %q", err, msg)
	}
}
