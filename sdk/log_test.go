package sdk_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/sdk"
	"github.com/batchhost/batchhost/sdk/sdktest"
)

type panicky struct{}

func (panicky) Error() string { panic("bad Error method") }

func TestLogRecords(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	task := sdk.NewTask("log", "logs", func(ctx context.Context, job *sdk.Job, _ struct{}) (struct{}, error) {
		l := job.Log()
		l.Debug("debug", "n", 1)
		l.Info("plain")
		l.Warn("types",
			"s", "x", "i", -3, "u", uint64(7), "f", 1.5, "b", true,
			"d", 1500*time.Millisecond, "t", at, "err", errors.New("oops"),
			"nan", math.NaN(), "ip", netip.MustParseAddr("10.0.0.1"),
			"slice", []int{1, 2}, "ch", make(chan int), "nil", nil, "bad", panicky{})
		l.With("a", 1).WithGroup("g").With("b", 2).WithGroup("h").Error("groups", "c", 3)
		l.WithGroup("empty").Info("empty group dropped")
		l.Info("inline", slog.Group("", "x", 1), slog.Group("grp", "y", 2), "", "ignored")
		l.Log(ctx, slog.LevelDebug-4, "trace")
		return struct{}{}, nil
	})
	res := sdktest.Run(t, one(task), "log", nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	logs := res.Logs()
	for i := range logs {
		if logs[i].Time.IsZero() || time.Since(logs[i].Time) > time.Hour {
			t.Errorf("record %d has time %v", i, logs[i].Time)
		}
		logs[i].Time = time.Time{}
	}
	want := []sdktest.Log{
		{Level: "debug", Message: "debug", Fields: map[string]any{"n": 1.0}},
		{Level: "info", Message: "plain", Fields: map[string]any{}},
		{Level: "warn", Message: "types", Fields: map[string]any{
			"s": "x", "i": -3.0, "u": 7.0, "f": 1.5, "b": true,
			"d": "1.5s", "t": "2026-01-02T03:04:05.000000006Z", "err": "oops",
			"nan": "NaN", "ip": "10.0.0.1", "slice": []any{1.0, 2.0}, "ch": any(nil), "nil": nil,
			"bad": "!PANIC: bad Error method",
		}},
		{Level: "error", Message: "groups", Fields: map[string]any{"a": 1.0, "g": map[string]any{"b": 2.0, "h": map[string]any{"c": 3.0}}}},
		{Level: "info", Message: "empty group dropped", Fields: map[string]any{}},
		{Level: "info", Message: "inline", Fields: map[string]any{"x": 1.0, "grp": map[string]any{"y": 2.0}}},
		{Level: "trace", Message: "trace", Fields: map[string]any{}},
	}
	// A channel cannot be JSON: it is written as text, whatever its address.
	if ch, ok := logs[2].Fields["ch"].(string); ok && ch != "" {
		logs[2].Fields["ch"] = nil
	} else {
		t.Errorf("channel field = %#v, want its text form", logs[2].Fields["ch"])
	}
	if diff := cmp.Diff(want, logs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
