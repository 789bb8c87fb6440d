package ui

import (
	"fmt"

	"github.com/insitu-cloud/insitu/internal/jobs"
)

// Job graph geometry: one box per stage, left to right, joined by arrows.
const (
	boxW, boxH, boxGap = 150.0, 70.0, 40.0
	graphPad           = 6.0
	progressH          = 8.0
)

// stageBox is one box of a job's graph: the inputs, a phase, the outputs.
type stageBox struct {
	X, Y, W, H     float64
	Title, Sub     string
	BarY           float64
	Segs           []segment // the progress bar, left to right
	State          string    // css class
	TrackX, TrackW float64   // the bar's background
	ArrowX, ArrowW float64   // the arrow to the next box (W 0: none)
	ArrowX2        float64
	ArrowY         float64
}

// segment is part of a progress bar.
type segment struct {
	X, Y, W float64
	Class   string
}

// phaseGraph is a job's phases as SVG.
type phaseGraph struct {
	W, H  float64
	Boxes []stageBox
	Label string
}

// jobGraph draws inputs -> each phase (with its tasks' progress) -> outputs.
func jobGraph(j *jobs.Job) phaseGraph {
	n := len(j.Phases) + 2
	g := phaseGraph{W: graphPad*2 + float64(n)*boxW + float64(n-1)*boxGap, H: boxH + 2*graphPad,
		Label: fmt.Sprintf("job %s: %d phases, %s", j.ID, len(j.Phases), j.State)}
	inputs := 0
	if len(j.Phases) > 0 {
		inputs = j.Phases[0].Tasks
	}
	add := func(title, sub, state string, segs []segment) {
		x := graphPad + float64(len(g.Boxes))*(boxW+boxGap)
		b := stageBox{X: x, Y: graphPad, W: boxW, H: boxH, Title: title, Sub: sub, State: state, BarY: graphPad + boxH - progressH - 8,
			ArrowY: graphPad + boxH/2}
		b.TrackX, b.TrackW = x+8, boxW-16
		for i := range segs {
			segs[i].X += x + 8
			segs[i].Y = b.BarY
		}
		b.Segs = segs
		if len(g.Boxes)+1 < n {
			b.ArrowX, b.ArrowW, b.ArrowX2 = x+boxW, boxGap, x+boxW+boxGap-4
		}
		g.Boxes = append(g.Boxes, b)
	}
	add("inputs", fmt.Sprintf("%d objects", inputs), "done", nil)
	for i, p := range j.Phases {
		add(fmt.Sprintf("%d: %s %s", i, p.Type, p.App), fmt.Sprintf("%d/%d done", p.Succeeded, p.Tasks), phaseClass(p), progress(p, boxW-16))
	}
	out := "pending"
	if j.State == jobs.Succeeded {
		out = "done"
	}
	add("outputs", j.Out, out, nil)
	return g
}

// phaseClass names a phase's state for the stylesheet.
func phaseClass(p jobs.PhaseStatus) string {
	switch {
	case p.Failed > 0:
		return "failed"
	case p.Tasks > 0 && p.Succeeded == p.Tasks:
		return "done"
	case p.Running > 0 || p.Succeeded > 0:
		return "running"
	}
	return "pending"
}

// progress splits width among succeeded, failed, running and cancelled
// tasks; the rest shows as the bar's background.
func progress(p jobs.PhaseStatus, width float64) []segment {
	if p.Tasks == 0 {
		return nil
	}
	var segs []segment
	x := 0.0
	for _, part := range []struct {
		n     int
		class string
	}{{p.Succeeded, "ok"}, {p.Failed, "bad"}, {p.Running, "run"}, {p.Cancelled, "gone"}} {
		if part.n == 0 {
			continue
		}
		w := width * float64(part.n) / float64(p.Tasks)
		segs = append(segs, segment{X: x, W: w, Class: part.class})
		x += w
	}
	return segs
}
