package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// TestReplicasShareLastModified writes one stamped version to two
// replicas a while apart: both show the coordinator's write time (the
// stamp's), not the time each commit happened, so a listing through any
// node gives the same LastModified.
func TestReplicasShareLastModified(t *testing.T) {
	ctx := context.Background()
	clock := NewClock(func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC) })
	a := putArgs{Stamp: store.Stamp{HLC: clock.Now(), Node: "n0"}}
	var got []time.Time
	for i := range 2 {
		l := openTestLocal(t)
		if i > 0 {
			time.Sleep(20 * time.Millisecond)
		}
		e := &Engine{local: l}
		if _, err := e.localPut(ctx, "b", "k", strings.NewReader("same bytes"), a, nil); err != nil {
			t.Fatal(err)
		}
		info, err := l.HeadObject(ctx, "b", "k")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, info.LastModified)
	}
	want := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	for i, m := range got {
		if !m.Equal(want) {
			t.Fatalf("replica %d: LastModified %v, want the stamp's %v", i, m, want)
		}
	}
}
