package web

import (
	"fmt"
	"html/template"
	"slices"
	"strings"

	"github.com/batchhost/batchhost/host"
)

// The drawing's geometry, in SVG user units.
const (
	nodeW   = 150
	nodeH   = 36
	gapX    = 30
	gapY    = 46
	margin  = 10
	maxDraw = 400 // members beyond this are listed, not drawn
)

// dagNode is one member placed in the drawing.
type dagNode struct {
	ID    string
	Task  string
	State host.State
	Layer int
	Pos   int // index within its layer, after ordering
	X, Y  int
}

type dagEdge struct {
	From, To *dagNode
}

// dag is a group's dependency graph laid out in layers, top to bottom:
// a node's layer is the length of the longest dependency chain above it,
// and the order inside a layer is improved by a few barycenter sweeps to
// cut crossings. Dependencies on jobs outside the group are not drawn.
type dag struct {
	Nodes         []*dagNode
	Edges         []dagEdge
	Width, Height int
	External      int // edges to jobs outside the group
}

// layout places members, given oldest first (the order they were added,
// which is also a topological order for a sequential group).
func layout(members []*host.Job) *dag {
	d := &dag{}
	byID := make(map[string]*dagNode, len(members))
	for _, m := range members {
		n := &dagNode{ID: m.ID, Task: m.Task, State: m.State}
		byID[m.ID] = n
		d.Nodes = append(d.Nodes, n)
	}
	parents := map[*dagNode][]*dagNode{}
	for _, m := range members {
		to := byID[m.ID]
		for _, dep := range m.DependsOn {
			from, ok := byID[dep.Job]
			if !ok {
				d.External++
				continue
			}
			d.Edges = append(d.Edges, dagEdge{From: from, To: to})
			parents[to] = append(parents[to], from)
		}
	}
	assignLayers(d.Nodes, parents)

	var layers [][]*dagNode
	for _, n := range d.Nodes {
		for len(layers) <= n.Layer {
			layers = append(layers, nil)
		}
		layers[n.Layer] = append(layers[n.Layer], n)
	}
	children := map[*dagNode][]*dagNode{}
	for _, e := range d.Edges {
		children[e.From] = append(children[e.From], e.To)
	}
	for _, l := range layers {
		setPos(l)
	}
	for sweep := 0; sweep < 4; sweep++ {
		for i := 1; i < len(layers); i++ {
			orderBy(layers[i], parents)
		}
		for i := len(layers) - 2; i >= 0; i-- {
			orderBy(layers[i], children)
		}
	}

	widest := 0
	for _, l := range layers {
		widest = max(widest, len(l))
	}
	d.Width = 2*margin + widest*nodeW + max(widest-1, 0)*gapX
	d.Height = 2*margin + len(layers)*nodeH + max(len(layers)-1, 0)*gapY
	for i, l := range layers {
		// Centre each layer under the widest.
		offset := (widest - len(l)) * (nodeW + gapX) / 2
		for j, n := range l {
			n.X = margin + offset + j*(nodeW+gapX)
			n.Y = margin + i*(nodeH+gapY)
		}
	}
	return d
}

// assignLayers gives each node the length of its longest chain of
// parents. The graph is acyclic (the host refuses cycles); a node on a
// cycle anyway is left where the walk found it, so a bad record cannot
// loop the layout.
func assignLayers(nodes []*dagNode, parents map[*dagNode][]*dagNode) {
	const (
		unseen = iota
		visiting
		done
	)
	mark := map[*dagNode]int{}
	var visit func(n *dagNode) int
	visit = func(n *dagNode) int {
		switch mark[n] {
		case done, visiting:
			return n.Layer
		}
		mark[n] = visiting
		layer := 0
		for _, p := range parents[n] {
			layer = max(layer, visit(p)+1)
		}
		n.Layer = layer
		mark[n] = done
		return layer
	}
	for _, n := range nodes {
		visit(n)
	}
}

func setPos(l []*dagNode) {
	for i, n := range l {
		n.Pos = i
	}
}

// orderBy sorts a layer by the mean position of each node's neighbours in
// the adjacent layer (nodes without any keep their place).
func orderBy(l []*dagNode, adj map[*dagNode][]*dagNode) {
	key := make(map[*dagNode]float64, len(l))
	for _, n := range l {
		ns := adj[n]
		if len(ns) == 0 {
			key[n] = float64(n.Pos)
			continue
		}
		sum := 0
		for _, m := range ns {
			sum += m.Pos
		}
		key[n] = float64(sum) / float64(len(ns))
	}
	slices.SortStableFunc(l, func(a, b *dagNode) int {
		switch {
		case key[a] < key[b]:
			return -1
		case key[a] > key[b]:
			return 1
		}
		return 0
	})
	setPos(l)
}

// svg renders the drawing. Node ids and states become attributes the
// page's script updates live (data-node, class st-STATE).
func (d *dag) svg(prefix string) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="dag" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="dependency graph">`,
		d.Width, d.Height, d.Width, d.Height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class="arrow"/></marker></defs>`)
	for _, e := range d.Edges {
		x1, y1 := e.From.X+nodeW/2, e.From.Y+nodeH
		x2, y2 := e.To.X+nodeW/2, e.To.Y
		my := (y1 + y2) / 2
		fmt.Fprintf(&b, `<path class="edge" d="M %d %d C %d %d, %d %d, %d %d" marker-end="url(#arrow)"/>`, x1, y1, x1, my, x2, my, x2, y2)
	}
	for _, n := range d.Nodes {
		esc := template.HTMLEscapeString
		fmt.Fprintf(&b, `<a href="%s/jobs/%s"><g class="node st-%s" data-node="%s"><title>%s %s (%s)</title>`,
			esc(prefix), esc(n.ID), esc(string(n.State)), esc(n.ID), esc(n.Task), esc(n.ID), esc(string(n.State)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6"/>`, n.X, n.Y, nodeW, nodeH)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="task">%s</text>`, n.X+nodeW/2, n.Y+15, esc(clip(n.Task, 20)))
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="id">%s</text></g></a>`, n.X+nodeW/2, n.Y+29, esc(shortID(n.ID)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
