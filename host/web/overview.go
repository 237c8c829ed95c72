package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/batchhost/batchhost/host"
)

type overviewData struct {
	Stats      host.Stats
	States     []stateCount
	Priorities []priorityCount
	// ByPriority is set when the host reports counts by state and
	// priority; else only the queue's depth by priority is known.
	// ByPriorityStates are the states it reports, but queued (the
	// queue's depth is that).
	ByPriority       map[host.State]map[host.Priority]int
	ByPriorityStates []host.State
	Chart            template.HTML
	Finished         int // over the chart's span
	Failed           int
	Plugins          []pluginRow
	Problems         []string
}

type stateCount struct {
	State host.State
	N     int
}

type priorityCount struct {
	Priority host.Priority
	Queued   int
}

type pluginRow struct {
	Name      string
	Version   string
	Tasks     []host.TaskInfo
	Processes string // "n/a" when the host does not report it
	Starts    string
	Crashes   string
}

func (s *Server) loadOverview(ctx context.Context) (*overviewData, error) {
	st, err := s.h.Stats(ctx)
	if err != nil {
		return nil, err
	}
	d := &overviewData{Stats: st}
	for _, state := range allStates {
		d.States = append(d.States, stateCount{State: state, N: st.Counts[state]})
	}
	for _, p := range allPriorities {
		d.Priorities = append(d.Priorities, priorityCount{Priority: p, Queued: st.QueueDepth[p.String()]})
	}
	if s.src.CountsByPriority != nil {
		if d.ByPriority, err = s.src.CountsByPriority(ctx); err != nil {
			return nil, err
		}
		for _, state := range allStates {
			if _, ok := d.ByPriority[state]; ok && state != host.StateQueued {
				d.ByPriorityStates = append(d.ByPriorityStates, state)
			}
		}
	}
	series := s.chart.series()
	for _, b := range series {
		d.Finished += b.completed
		d.Failed += b.failed
	}
	d.Chart = chartSVG(series)
	d.Plugins = s.plugins()
	for _, p := range s.h.Problems() {
		d.Problems = append(d.Problems, p.Error())
	}
	return d, nil
}

func (s *Server) plugins() []pluginRow {
	byName := map[string]*pluginRow{}
	var names []string
	for _, t := range s.h.Tasks() {
		p := byName[t.Plugin]
		if p == nil {
			p = &pluginRow{Name: t.Plugin, Version: t.Version, Processes: "n/a", Starts: "n/a", Crashes: "n/a"}
			byName[t.Plugin] = p
			names = append(names, t.Plugin)
		}
		p.Tasks = append(p.Tasks, t)
	}
	var procs map[string]int
	var starts map[string]uint64
	var crashes map[string]map[string]uint64
	if s.src.PluginProcesses != nil {
		procs = s.src.PluginProcesses()
	}
	if s.src.PluginStarts != nil {
		starts = s.src.PluginStarts()
	}
	if s.src.PluginCrashes != nil {
		crashes = s.src.PluginCrashes()
	}
	slices.Sort(names)
	out := make([]pluginRow, 0, len(names))
	for _, n := range names {
		p := byName[n]
		if procs != nil {
			p.Processes = fmt.Sprint(procs[n])
		}
		if starts != nil {
			p.Starts = fmt.Sprint(starts[n])
		}
		if crashes != nil {
			total := uint64(0)
			for _, c := range crashes[n] {
				total += c
			}
			p.Crashes = fmt.Sprint(total)
		}
		out = append(out, *p)
	}
	return out
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadOverview(r.Context())
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	v := s.newView(w, r, "Overview", "overview", d)
	v.Live = s.url("/events?topic=overview")
	s.page(w, r, "overview", v)
}

func (s *Server) overviewFragment(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadOverview(r.Context())
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "overview", "live", s.newView(w, r, "", "", d))
}

func (s *Server) dispatchAction(w http.ResponseWriter, r *http.Request) {
	var err error
	switch a := r.PathValue("action"); a {
	case "pause":
		err = s.h.PauseDispatch(r.Context())
	case "resume":
		err = s.h.ResumeDispatch(r.Context())
	default:
		s.fail(w, r, http.StatusNotFound, "unknown dispatch action "+a+": want pause or resume")
		return
	}
	if err != nil {
		s.hostError(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
		return
	}
	http.Redirect(w, r, s.url("/?done=dispatch-"+r.PathValue("action")), http.StatusSeeOther)
}

// chartSVG draws finished jobs per step as stacked bars: completed below,
// failed or canceled above.
func chartSVG(series []bucket) template.HTML {
	const (
		w, h   = 1200, 150
		left   = 34
		bottom = 18
	)
	peak := 1
	for _, b := range series {
		peak = max(peak, b.completed+b.failed)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="jobs finished per %s over the last %s">`, w, h, chartStep, chartSpan)
	plotH := h - bottom - 4
	fmt.Fprintf(&sb, `<text x="%d" y="12" class="axis" text-anchor="end">%d</text><text x="%d" y="%d" class="axis" text-anchor="end">0</text>`,
		left-4, peak, left-4, h-bottom)
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="base"/>`, left, h-bottom, w, h-bottom)
	bw := float64(w-left) / float64(len(series))
	for i, b := range series {
		x := float64(left) + float64(i)*bw + 1
		ch := float64(b.completed) / float64(peak) * float64(plotH)
		fh := float64(b.failed) / float64(peak) * float64(plotH)
		title := fmt.Sprintf("%s: %d completed, %d failed or canceled", b.start.Local().Format("15:04:05"), b.completed, b.failed)
		fmt.Fprintf(&sb, `<g><title>%s</title>`, template.HTMLEscapeString(title))
		if b.completed > 0 {
			fmt.Fprintf(&sb, `<rect class="ok" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x, float64(h-bottom)-ch, bw-2, ch)
		}
		if b.failed > 0 {
			fmt.Fprintf(&sb, `<rect class="bad" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x, float64(h-bottom)-ch-fh, bw-2, fh)
		}
		sb.WriteString(`</g>`)
	}
	fmt.Fprintf(&sb, `<text x="%d" y="%d" class="axis">-%d min</text><text x="%d" y="%d" class="axis" text-anchor="end">now</text></svg>`,
		left, h-3, int(chartSpan.Minutes()), w, h-3)
	return template.HTML(sb.String())
}
