package runs_test

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// gatedEngine holds the commit of one key's PutObject (after reading its
// whole body) until gate is closed; reached is closed when it gets there.
type gatedEngine struct {
	*local.Engine
	key     string
	reached chan struct{}
	gate    chan struct{}
}

func (g *gatedEngine) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, opts store.PutOptions) (store.ObjectInfo, error) {
	if key != g.key {
		return g.Engine.PutObject(ctx, bucket, key, r, size, opts)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	close(g.reached)
	<-g.gate
	return g.Engine.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), opts)
}

// With one slot, a run whose stdout object is still being committed has
// already given the slot back (and called SandboxDone): another run
// executes meanwhile; the first returns only once its object is stored.
func TestSlotFreedBeforeOutputsStored(t *testing.T) {
	g := &gatedEngine{key: "a.out", reached: make(chan struct{}), gate: make(chan struct{})}
	f := newFixtureWith(t, 1, 0, func(e *local.Engine) store.Engine { g.Engine = e; return g })
	ctx := context.Background()
	var sandboxDone atomic.Int32
	type result struct {
		rec *runs.Record
		err error
	}
	first := make(chan result, 1)
	go func() {
		rec, err := f.svc.Run(ctx, runs.Request{Account: "alice", App: "tool", Args: []string{"cat"},
			StdinObject:  &runs.ObjectRef{Bucket: "alice-data", Key: "in.txt"},
			StdoutObject: &runs.ObjectRef{Bucket: "alice-data", Key: "a.out"},
			SandboxDone:  func() { sandboxDone.Add(1) }})
		first <- result{rec, err}
	}()
	<-g.reached
	var out bytes.Buffer
	second := make(chan result, 1)
	go func() {
		rec, err := f.svc.Run(ctx, runs.Request{Account: "alice", App: "tool", Args: []string{"cat"},
			StdinObject: &runs.ObjectRef{Bucket: "alice-data", Key: "in.txt"}, Stdout: &out})
		second <- result{rec, err}
	}()
	select {
	case r := <-second:
		if r.err != nil || !r.rec.OK() || out.String() != "abc" {
			t.Fatalf("second run: %+v %v %q", r.rec, r.err, out.String())
		}
	case <-time.After(30 * time.Second): // harness bound: it waits for the slot forever if not freed
		t.Fatal("the second run did not execute while the first one's output was committing: the slot was held")
	}
	select {
	case <-first:
		t.Fatal("the first run returned before its output was stored")
	default:
	}
	if n := sandboxDone.Load(); n != 1 {
		t.Fatalf("SandboxDone called %d times before the output was stored, want 1", n)
	}
	close(g.gate)
	r := <-first
	if r.err != nil || !r.rec.OK() || len(r.rec.Outputs) != 1 {
		t.Fatalf("first run: %+v %v", r.rec, r.err)
	}
	if _, err := f.engine.HeadObject(ctx, "alice-data", "a.out"); err != nil {
		t.Fatalf("the first run's output: %v", err)
	}
	if _, err := f.svc.Get(ctx, "alice", r.rec.ID); err != nil {
		t.Fatalf("the first run's record: %v", err)
	}
}

// bucketLookups counts GetBucket calls.
type bucketLookups struct {
	*local.Engine
	n atomic.Int32
}

func (b *bucketLookups) GetBucket(ctx context.Context, name string) (store.BucketInfo, error) {
	b.n.Add(1)
	return b.Engine.GetBucket(ctx, name)
}

// A run that names one bucket for its stdin, its /in input and its stdout
// object (what a job task does) looks the bucket's owner up once.
func TestAuthorizeLooksUpEachBucketOnce(t *testing.T) {
	counter := &bucketLookups{}
	f := newFixtureWith(t, 1, 0, func(e *local.Engine) store.Engine { counter.Engine = e; return counter })
	in := runs.ObjectRef{Bucket: "alice-data", Key: "in.txt"}
	rec, err := f.svc.Run(context.Background(), runs.Request{Account: "alice", App: "tool", Args: []string{"cat"},
		StdinObject: &in, Inputs: []runs.InputSpec{{Object: in}},
		StdoutObject: &runs.ObjectRef{Bucket: "alice-data", Key: "b.out"}})
	if err != nil || !rec.OK() {
		t.Fatalf("run: %+v %v", rec, err)
	}
	if n := counter.n.Load(); n != 1 {
		t.Fatalf("%d bucket lookups for one bucket named three times, want 1", n)
	}
}
