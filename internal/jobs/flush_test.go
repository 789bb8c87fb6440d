package jobs

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/runs"
)

// syncedWrites counts the store's synced writes (Put and PutBatch calls).
type syncedWrites struct {
	meta.Store
	n atomic.Int64
}

func (w *syncedWrites) Put(ctx context.Context, key string, value []byte) error {
	w.n.Add(1)
	return w.Store.Put(ctx, key, value)
}

func (w *syncedWrites) PutBatch(ctx context.Context, pairs []meta.Pair) error {
	w.n.Add(1)
	return w.Store.PutBatch(ctx, pairs)
}

// A flush of a job with 2,500 map and 3 reduce tasks (4 task chunks and
// the summary) is one synced write, and reads back whole.
func TestFlushIsOneSyncedWrite(t *testing.T) {
	kv, err := meta.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	w := &syncedWrites{Store: kv}
	s, err := New(context.Background(), Config{KV: w})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inputs := make([]runs.ObjectRef, 2500)
	for i := range inputs {
		inputs[i] = runs.ObjectRef{Bucket: "b", Key: fmt.Sprintf("in/%05d", i)}
	}
	plans := []phasePlan{{Phase: Phase{Type: Map, App: "wc"}}, {Phase: Phase{Type: Reduce, App: "sum", Reducers: 3}}}
	r := newJobRun(s, "acct", "job1", Spec{}, plans, inputs, runs.ObjectRef{Bucket: "b", Key: "out/"})
	w.n.Store(0)
	if err := r.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := w.n.Load(); n != 1 {
		t.Fatalf("%d synced writes for one flush of 4 chunks and the summary, want 1", n)
	}
	tasks, err := s.loadTasks(context.Background(), "acct", "job1")
	if err != nil || len(tasks) != 2503 {
		t.Fatalf("read back %d tasks, %v", len(tasks), err)
	}
	if _, err := s.loadJob(context.Background(), "acct", "job1"); err != nil {
		t.Fatal(err)
	}
}

// batchLen keeps a batch within meta.MaxBatch pairs and maxFlushBytes
// bytes, and always takes at least one pair.
func TestFlushBatchBounds(t *testing.T) {
	big := make([]byte, maxFlushBytes)
	small := []meta.Pair{{Key: "a", Value: []byte("x")}}
	for _, c := range []struct {
		writes []meta.Pair
		want   int
	}{
		{make([]meta.Pair, 300), meta.MaxBatch},
		{[]meta.Pair{{Key: "a", Value: big}, small[0]}, 1},
		{[]meta.Pair{small[0], {Key: "b", Value: big}}, 1},
		{small, 1},
	} {
		if got := batchLen(c.writes); got != c.want {
			t.Errorf("batchLen of %d pairs = %d, want %d", len(c.writes), got, c.want)
		}
	}
}
