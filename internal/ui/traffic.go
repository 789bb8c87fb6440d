package ui

import (
	"fmt"
	"time"

	"github.com/insitu-cloud/insitu/internal/obs"
)

// traffic is the overview's last hour of this node's requests: a bar a
// minute (red for server failures) and the hour's rate and latency.
type traffic struct {
	W, H           float64
	Bars           []trafficBar
	Requests       int64
	Errors         int64
	PerSecond      string
	P50, P95, P99  string
	From, To, YMax string
	LatencyW       float64
	LatencyBars    []histBar
}

type trafficBar struct {
	X, W, Y, H, ErrY, ErrH float64
	Title                  string
}

// trafficOf draws minutes (oldest first) as 60 bars scaled to the busiest
// minute, and the hour's latency histogram over obs.RecentBounds.
func trafficOf(ms []obs.Minute) traffic {
	const w, h = 600.0, 120.0
	g := traffic{W: w, H: h, LatencyW: 600}
	var hist [len(obs.RecentBounds) + 1]int64
	top := int64(1)
	for _, m := range ms {
		g.Requests, g.Errors, top = g.Requests+m.Requests, g.Errors+m.Errors, max(top, m.Requests)
		for i, n := range m.Latency {
			hist[i] += n
		}
	}
	bw := w / float64(max(len(ms), 1))
	for i, m := range ms {
		bh := (h - 2) * float64(m.Requests) / float64(top)
		eh := (h - 2) * float64(m.Errors) / float64(top)
		g.Bars = append(g.Bars, trafficBar{X: float64(i)*bw + 1, W: max(bw-2, 1), Y: h - bh, H: bh, ErrY: h - eh, ErrH: eh,
			Title: fmt.Sprintf("%s UTC: %d requests, %d failed, p95 %s", m.Start.Format("15:04"), m.Requests, m.Errors, quantile(m.Latency[:], 0.95))})
	}
	if len(ms) > 0 {
		g.From, g.To = ms[0].Start.Format("15:04"), ms[len(ms)-1].Start.Add(time.Minute).Format("15:04")
	}
	g.YMax = fmt.Sprintf("%d a minute", top)
	g.PerSecond = fmt.Sprintf("%.2f", float64(g.Requests)/float64(max(len(ms), 1)*60))
	g.P50, g.P95, g.P99 = quantile(hist[:], 0.5), quantile(hist[:], 0.95), quantile(hist[:], 0.99)
	g.LatencyBars = latencyBars(hist[:], g.LatencyW)
	return g
}

// latencyBars draws counts per obs.RecentBounds bucket as bars.
func latencyBars(counts []int64, w float64) []histBar {
	const h = 100.0
	top := int64(1)
	for _, n := range counts {
		top = max(top, n)
	}
	bw := w / float64(len(counts))
	bars := make([]histBar, 0, len(counts))
	for i, n := range counts {
		label := "slower"
		if i < len(obs.RecentBounds) {
			label = "≤" + obs.RecentBounds[i].String()
		}
		bh := (h - 4) * float64(n) / float64(top)
		bars = append(bars, histBar{X: float64(i)*bw + 2, W: bw - 4, Y: h - bh, H: bh, N: n, Label: label, LabelX: float64(i)*bw + bw/2})
	}
	return bars
}

// quantile is the upper bound of the bucket holding quantile q of counts
// (per obs.RecentBounds, then slower), in words; "-" without requests.
func quantile(counts []int64, q float64) string {
	var total int64
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return "-"
	}
	want := int64(q*float64(total) + 0.5)
	var seen int64
	for i, n := range counts {
		if seen += n; seen >= max(want, 1) {
			if i < len(obs.RecentBounds) {
				return "≤" + obs.RecentBounds[i].String()
			}
			return ">" + obs.RecentBounds[len(obs.RecentBounds)-1].String()
		}
	}
	return "-"
}
