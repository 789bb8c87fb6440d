package cluster

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// createCounter is a real local engine that counts CreateBucket calls.
type createCounter struct {
	store.Engine
	creates atomic.Int64
}

func (c *createCounter) CreateBucket(ctx context.Context, b store.BucketInfo) error {
	c.creates.Add(1)
	return c.Engine.CreateBucket(ctx, b)
}

// TestEnsureLocalBucketReadsFirst pins that a replica write into a bucket
// the node already holds does not call CreateBucket: that call takes the
// bucket's exclusive lock, waits for every commit in flight in the bucket
// and so serialised all of a node's writes (bench/cluster measured it).
func TestEnsureLocalBucketReadsFirst(t *testing.T) {
	ctx := context.Background()
	l := openTestLocal(t)
	c := &createCounter{Engine: l}
	for i := 0; i < 3; i++ {
		if err := ensureLocalBucket(ctx, c, "b"); err != nil {
			t.Fatalf("ensureLocalBucket #%d: %v", i, err)
		}
	}
	if _, err := l.GetBucket(ctx, "b"); err != nil {
		t.Fatalf("bucket not created: %v", err)
	}
	if n := c.creates.Load(); n != 1 {
		t.Fatalf("CreateBucket called %d times for 3 writes into one bucket, want 1 (the first)", n)
	}
}
