package jsonshape

import (
	"strings"
	"testing"
)

func TestDepth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{`1`, 0},
		{`"[[[{"`, 0},
		{`{"a":[1,{"b":"]\"["}]}`, 3},
		{`[[],[[]]]`, 3},
		{strings.Repeat("[", 600) + strings.Repeat("]", 600), 600},
	} {
		if got := Depth([]byte(tc.in)); got != tc.want {
			t.Errorf("Depth(%.30s) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if err := Check([]byte(ok)); err != nil {
		t.Errorf("depth %d refused: %v", MaxDepth, err)
	}
	deep := "[" + ok + "]"
	if err := Check([]byte(deep)); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Errorf("depth %d: got %v, want a nesting error", MaxDepth+1, err)
	}
	if err := Check([]byte("{\"a\":\"\xff\"}")); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("invalid UTF-8: got %v, want a UTF-8 error", err)
	}
}

// A string holding the escape \u0000 is refused, wherever it is; an
// escaped backslash followed by the text u0000 is not that escape.
func TestCheckRefusesNUL(t *testing.T) {
	for _, in := range []string{`"\u0000"`, `{"a":["x\u0000y"]}`, `{"\u0000":1}`, `"\\\u0000"`} {
		if err := Check([]byte(in)); err == nil || !strings.Contains(err.Error(), `\u0000`) {
			t.Errorf("Check(%s) = %v, want a NUL refusal", in, err)
		}
	}
	for _, in := range []string{`"\\u0000"`, `"\u0001"`, `"u0000"`, `"\u1000"`, `"\u00a0"`} {
		if err := Check([]byte(in)); err != nil {
			t.Errorf("Check(%s) = %v, want nil", in, err)
		}
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{"plain": "plain", "a\x00b": "a\uFFFDb", "x\xffy\x00": "x\uFFFDy\uFFFD", "": ""} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}
