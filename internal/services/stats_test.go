package services

import (
	"testing"
	"time"
)

// TestStatsHistogramAndRate checks the latency buckets and the request
// rate over the last minute, and that memory stays fixed.
func TestStatsHistogramAndRate(t *testing.T) {
	var s stats
	t0 := time.Unix(1_800_000_000, 0)
	for i, d := range []time.Duration{500 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, 30 * time.Second} {
		s.observe(t0.Add(time.Duration(i)*time.Second), 200, d, d)
	}
	got := s.summary(t0.Add(10*time.Second), "x", 0)
	want := map[int]int64{0: 2, 2: 1, len(LatencyBounds): 1}
	for i, n := range got.Histogram {
		if n != want[i] {
			t.Errorf("bucket %d: %d, want %d (%v)", i, n, want[i], got.Histogram)
		}
	}
	if got.PerSecond != 4.0/rateWindow {
		t.Errorf("rate %v, want %v", got.PerSecond, 4.0/rateWindow)
	}
	if late := s.summary(t0.Add(2*time.Minute), "x", 0); late.PerSecond != 0 || late.Requests != 4 {
		t.Errorf("two minutes later: rate %v, requests %d", late.PerSecond, late.Requests)
	}
	for range 10 * rateWindow {
		s.observe(t0.Add(time.Hour), 200, time.Millisecond, 0)
	}
	if r := s.summary(t0.Add(time.Hour), "x", 0).PerSecond; r != 10 {
		t.Errorf("600 requests in one second: rate %v, want 10", r)
	}
}
