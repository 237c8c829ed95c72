package model

import (
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		what, name string
		want       string // "" means accepted
	}{
		{"task", "chaos.noop", ""},
		{"group name", "nightly import", ""},
		{"label name", " spaced ", ""},
		{"schedule name", "ünïcödé", ""},
		{"task", strings.Repeat("x", MaxNameLen), ""},
		{"task", "", "task is required"},
		{"group name", "", "group name is required"},
		{"task", strings.Repeat("x", MaxNameLen+1), `task "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"... is longer than 256 bytes`},
		{"schedule name", "s\xff", "schedule name is not valid UTF-8"},
		{"label name", "\xc3", "label name is not valid UTF-8"},
	}
	for _, tc := range tests {
		err := CheckName(tc.what, tc.name)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("CheckName(%q, %.20q) = %q, want %q", tc.what, tc.name, got, tc.want)
		}
	}
}

func TestDepPolicyResolve(t *testing.T) {
	tests := []struct {
		p       DepPolicy
		want    DepPolicy
		wantErr string
	}{
		{"", DepCancel, ""},
		{DepCancel, DepCancel, ""},
		{DepIgnore, DepIgnore, ""},
		{"IGNORE", "", `unknown policy "IGNORE" (want cancel or ignore)`},
		{"sometimes", "", `unknown policy "sometimes" (want cancel or ignore)`},
		{" cancel", "", `unknown policy " cancel" (want cancel or ignore)`},
	}
	for _, tc := range tests {
		got, err := tc.p.Resolve()
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tc.want || gotErr != tc.wantErr {
			t.Errorf("%q.Resolve() = %q, %q; want %q, %q", tc.p, got, gotErr, tc.want, tc.wantErr)
		}
	}
}

func TestIsID(t *testing.T) {
	for s, want := range map[string]bool{
		"0192f5a4-7c1e-7d2a-9b3c-4d5e6f708192": true,
		"00000000-0000-0000-0000-000000000000": true,
		"0192F5A4-7C1E-7D2A-9B3C-4D5E6F708192": false, // upper case
		"0192f5a4-7c1e-7d2a-9b3c-4d5e6f70819":  false, // short
		"0192f5a4x7c1e-7d2a-9b3c-4d5e6f708192": false,
		"0192f5a4-7c1e-7d2a-9b3c-4d5e6f70819g": false,
		"":                                     false,
	} {
		if got := IsID(s); got != want {
			t.Errorf("IsID(%q) = %v, want %v", s, got, want)
		}
	}
}
