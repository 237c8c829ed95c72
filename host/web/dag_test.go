package web

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/batchhost/batchhost/host"
)

func job(id string, deps ...string) *host.Job {
	return &host.Job{ID: id, Task: "t." + id, State: host.StateQueued, DependsOn: host.After(deps...)}
}

func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		name     string
		members  []*host.Job
		layers   map[string]int
		edges    int
		external int
	}{
		{"chain", []*host.Job{job("a"), job("b", "a"), job("c", "b")}, map[string]int{"a": 0, "b": 1, "c": 2}, 2, 0},
		{"diamond", []*host.Job{job("a"), job("b", "a"), job("c", "a"), job("d", "b", "c")}, map[string]int{"a": 0, "b": 1, "c": 1, "d": 2}, 4, 0},
		{"longest path wins", []*host.Job{job("a"), job("b", "a"), job("c", "b"), job("d", "a", "c")}, map[string]int{"a": 0, "b": 1, "c": 2, "d": 3}, 4, 0},
		{"outside deps", []*host.Job{job("a", "zz"), job("b")}, map[string]int{"a": 0, "b": 0}, 0, 1},
		{"added out of order", []*host.Job{job("c", "b"), job("b", "a"), job("a")}, map[string]int{"a": 0, "b": 1, "c": 2}, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := layout(tc.members)
			got := map[string]int{}
			seen := map[[2]int]string{}
			for _, n := range d.Nodes {
				got[n.ID] = n.Layer
				pos := [2]int{n.X, n.Y}
				if other, ok := seen[pos]; ok {
					t.Errorf("%s and %s drawn at the same place", n.ID, other)
				}
				seen[pos] = n.ID
				if n.X < 0 || n.Y < 0 || n.X+nodeW > d.Width || n.Y+nodeH > d.Height {
					t.Errorf("%s at %d,%d outside %dx%d", n.ID, n.X, n.Y, d.Width, d.Height)
				}
			}
			if diff := cmp.Diff(tc.layers, got); diff != "" {
				t.Errorf("layers (-want +got):\n%s", diff)
			}
			if len(d.Edges) != tc.edges || d.External != tc.external {
				t.Errorf("%d edges, %d external; want %d, %d", len(d.Edges), d.External, tc.edges, tc.external)
			}
			for _, e := range d.Edges {
				if e.To.Y <= e.From.Y {
					t.Errorf("edge %s→%s points up", e.From.ID, e.To.ID)
				}
			}
		})
	}
}

// Barycenter ordering untangles two crossing chains.
func TestLayoutReducesCrossings(t *testing.T) {
	// Layer 0: a, b; layer 1 is added as y (child of b), x (child of a).
	d := layout([]*host.Job{job("a"), job("b"), job("y", "b"), job("x", "a")})
	pos := map[string]int{}
	for _, n := range d.Nodes {
		pos[n.ID] = n.X
	}
	if (pos["a"] < pos["b"]) != (pos["x"] < pos["y"]) {
		t.Errorf("edges cross: %v", pos)
	}
}

func TestDAGSVGEscapes(t *testing.T) {
	j := job("a")
	j.Task = `evil"><script>alert(1)</script>`
	svg := string(layout([]*host.Job{j}).svg("/p"))
	if strings.Contains(svg, "<script>") || !strings.Contains(svg, `href="/p/jobs/a"`) || !strings.Contains(svg, `data-node="a"`) {
		t.Errorf("svg: %s", svg)
	}
}
