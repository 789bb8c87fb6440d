package jobs

import (
	"testing"
	"time"
)

// A node whose report still counts tasks that just left it is free again
// for the next placement; once the report is older than its lag allows,
// it is trusted; and this Service's own running tasks always count.
func TestBusyNodesWeighStaleReports(t *testing.T) {
	var b busyNodes
	t0 := time.Unix(1000, 0)
	n := NodeLoad{ID: "n1", Slots: 4, SlotsUsed: 4} // reported while 4 of ours ran
	for range 4 {
		b.add("n1", 1, t0)
	}
	if got := b.freeSlots(n, t0); got != 0 {
		t.Fatalf("4 of 4 running: %d free", got)
	}
	b.add("n1", -3, t0.Add(time.Second)) // three ended; the report lags
	if got := b.freeSlots(n, t0.Add(1500*time.Millisecond)); got != 3 {
		t.Fatalf("3 just ended under a stale report: %d free, want 3", got)
	}
	if got := b.freeSlots(n, t0.Add(time.Second+reportLag+time.Millisecond)); got != 0 {
		t.Fatalf("a report past the lag says 4 used: %d free, want 0", got)
	}
	n.SlotsUsed = 0 // a report from before our tasks started
	if got := b.freeSlots(n, t0.Add(10*time.Second)); got != 3 {
		t.Fatalf("1 of ours running, report 0: %d free, want 3", got)
	}
	if len(b.ended) != 0 {
		t.Fatalf("old departures kept: %v", b.ended)
	}
}
