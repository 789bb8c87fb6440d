package runs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// batchCounting counts PutBatch calls and the largest batch.
type batchCounting struct {
	meta.Store
	commits, largest atomic.Int64
}

func (b *batchCounting) PutBatch(ctx context.Context, pairs []meta.Pair) error {
	b.commits.Add(1)
	for n := int64(len(pairs)); ; {
		l := b.largest.Load()
		if n <= l || b.largest.CompareAndSwap(l, n) {
			break
		}
	}
	return b.Store.PutBatch(ctx, pairs)
}

// Records put at once by many callers share commits, each caller returns
// only once its record is in the store, no batch is over the bounds, and
// close writes what was accepted and lets later records through one by
// one.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	local, err := meta.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	kv := &batchCounting{Store: local}
	g := newGroupCommit(kv, slog.New(slog.DiscardHandler))
	const callers = 400
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("runs/a/%04d", i)
			if err := g.put(ctx, key, []byte("rec")); err != nil {
				t.Error(err)
				return
			}
			if _, err := local.Get(ctx, key); err != nil {
				t.Errorf("put returned before %s was stored: %v", key, err)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d records in %d commits, largest %d", callers, kv.commits.Load(), kv.largest.Load())
	if c := kv.commits.Load(); c >= callers/2 {
		t.Errorf("%d commits for %d concurrent records: not grouped", c, callers)
	}
	if kv.largest.Load() > maxBatchRecords {
		t.Errorf("a batch of %d records", kv.largest.Load())
	}
	g.close()
	g.close() // idempotent
	if err := g.put(ctx, "runs/a/late", []byte("rec")); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Get(ctx, "runs/a/late"); err != nil {
		t.Fatalf("a record after close: %v", err)
	}
}
