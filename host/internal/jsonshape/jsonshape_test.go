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
