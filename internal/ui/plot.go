package ui

import (
	"fmt"
	"time"

	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/services"
)

// Plot geometry, in SVG user units (the SVG scales to its box).
const (
	plotW, plotH = 600.0, 160.0
	plotPad      = 4.0
)

// point is one dot of a plot, already in SVG coordinates.
type point struct {
	X, Y  float64
	Title string
	Class string
	Href  string
}

// plot is a scatter of points over time, drawn server-side as SVG.
type plot struct {
	W, H         float64
	Points       []point
	YMax         string // the top of the y axis, in words
	XFrom, XTo   string // the first and last time shown
	Empty        bool
	YTicks       []tick
	Label, Units string
}

type tick struct {
	Y     float64
	Label string
}

// durationPlot draws each run's wall time against its start: green when it
// exited 0, red otherwise. Runs arrive newest first.
func durationPlot(list []runs.Record) plot {
	p := plot{W: plotW, H: plotH, Empty: len(list) == 0, Label: "wall time of each run against its start", Units: "ms"}
	if p.Empty {
		return p
	}
	from, to, top := list[len(list)-1].Start, list[0].Start, 1.0
	for _, r := range list {
		from, to, top = minTime(from, r.Start), maxTime(to, r.Start), max(top, r.WallMS)
	}
	span := to.Sub(from)
	for _, r := range list {
		x := plotW / 2
		if span > 0 {
			x = plotPad + (plotW-2*plotPad)*float64(r.Start.Sub(from))/float64(span)
		}
		y := plotH - plotPad - (plotH-2*plotPad)*r.WallMS/top
		class := "ok"
		if !r.OK() {
			class = "bad"
		}
		p.Points = append(p.Points, point{X: x, Y: y, Class: class, Href: "/ui/runs/" + r.ID,
			Title: fmt.Sprintf("%s %s: %.1f ms, %s", r.Start.UTC().Format("15:04:05"), r.App, r.WallMS, r.Status)})
	}
	p.YMax = fmt.Sprintf("%.0f ms", top)
	p.XFrom, p.XTo = from.UTC().Format("2006-01-02 15:04:05"), to.UTC().Format("2006-01-02 15:04:05")
	p.YTicks = []tick{{Y: plotPad, Label: p.YMax}, {Y: plotH / 2, Label: fmt.Sprintf("%.0f ms", top/2)}}
	return p
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// histogram is a bar chart of request counts by latency bucket, as SVG.
type histogram struct {
	W, H  float64
	Bars  []histBar
	Total int64
	Label string
}

type histBar struct {
	X, Y, W, H float64
	Label      string // the bucket's upper bound
	LabelX     float64
	N          int64
}

// latencyHistogram draws counts (one per services.LatencyBounds bucket and
// one for slower) as bars of equal width, heights scaled to the largest.
func latencyHistogram(counts []int64) histogram {
	const w, h, labelH = 600.0, 140.0, 16.0
	g := histogram{W: w, H: h + labelH, Label: "requests by latency since the node started"}
	if len(counts) == 0 {
		return g
	}
	top := int64(1)
	for _, n := range counts {
		top, g.Total = max(top, n), g.Total+n
	}
	bw := w / float64(len(counts))
	for i, n := range counts {
		label := "slower"
		if i < len(services.LatencyBounds) {
			label = fmt.Sprintf("≤%g", services.LatencyBounds[i])
		}
		bh := (h - 4) * float64(n) / float64(top)
		g.Bars = append(g.Bars, histBar{X: float64(i)*bw + 2, W: bw - 4, Y: h - bh, H: bh, N: n, Label: label, LabelX: float64(i)*bw + bw/2})
	}
	return g
}
