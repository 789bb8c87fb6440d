package ui

import (
	"fmt"
	"time"

	"github.com/insitu-cloud/insitu/internal/runs"
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
