package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
)

// TestPartitionedReaderLineCap: a line of exactly MaxLineBytes (newline
// included) passes; a 4 MiB line with no newline fails the reader with
// ErrLineTooLong after reading little more than the cap.
func TestPartitionedReaderLineCap(t *testing.T) {
	ctx := context.Background()
	eng := openEngine(t)
	mkBucket(t, eng, "b")
	atCap := "k\t" + strings.Repeat("v", MaxLineBytes-3) + "\n"
	bodies := []string{"a\t1\n" + atCap + "b\t2\n", strings.Repeat("x", 4<<20)}
	po := newPhaseOutputs(len(bodies), func(i int) runs.ObjectRef { return runs.ObjectRef{Bucket: "b", Key: fmt.Sprintf("o/%d", i)} })
	for i, body := range bodies {
		put(t, eng, "b", fmt.Sprintf("o/%d", i), body)
		po.finish(i, true)
	}

	u := &upstreamReader{ctx: ctx, engine: eng, po: po, idx: []int{0}, part: 0, parts: 1}
	data, err := io.ReadAll(u)
	if err != nil || string(data) != bodies[0] {
		t.Fatalf("lines up to the cap: %d bytes, %v", len(data), err)
	}

	u = &upstreamReader{ctx: ctx, engine: eng, po: po, idx: []int{0, 1}, part: 0, parts: 1}
	data, err = io.ReadAll(u)
	if !errors.Is(err, ErrLineTooLong) || !errors.Is(u.failure(), ErrLineTooLong) {
		t.Fatalf("4 MiB line: err %v failure %v", err, u.failure())
	}
	if !strings.Contains(err.Error(), "s3://b/o/1") || string(data) != bodies[0] {
		t.Fatalf("error %q, %d bytes before it", err, len(data))
	}
	if c := cap(u.line); c > 2*MaxLineBytes { // append growth, not 4 MiB
		t.Fatalf("line buffer grew to %d bytes", c)
	}
}

// closeCounting counts the closes of the readers GetObject returns.
type closeCounting struct {
	store.Engine
	opened, closed atomic.Int32
}

func (c *closeCounting) GetObject(ctx context.Context, bucket, key string, rng *store.Range) (store.ObjectInfo, io.ReadCloser, error) {
	info, rc, err := c.Engine.GetObject(ctx, bucket, key, rng)
	if err == nil {
		c.opened.Add(1)
		rc = &countedCloser{ReadCloser: rc, n: &c.closed}
	}
	return info, rc, err
}

type countedCloser struct {
	io.ReadCloser
	n *atomic.Int32
}

func (c *countedCloser) Close() error { c.n.Add(1); return c.ReadCloser.Close() }

// TestUpstreamReaderClose: a run that stops reading its stdin part way
// leaves an output open; Close releases it, and a Read still waiting on
// an upstream task (the stdin copier of a run that already answered)
// ends once the reader's ctx is cancelled, before Close returns.
func TestUpstreamReaderClose(t *testing.T) {
	eng := &closeCounting{Engine: openEngine(t)}
	mkBucket(t, eng, "b")
	po := newPhaseOutputs(2, func(i int) runs.ObjectRef { return runs.ObjectRef{Bucket: "b", Key: fmt.Sprintf("o/%d", i)} })
	put(t, eng, "b", "o/0", strings.Repeat("x", 256<<10))
	po.finish(0, true) // task 1 never finishes

	ctx, cancel := context.WithCancel(context.Background())
	u := &upstreamReader{ctx: ctx, engine: eng, po: po, idx: []int{0}}
	if _, err := io.ReadFull(u, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	u.Close()
	if o, c := eng.opened.Load(), eng.closed.Load(); o != 1 || c != 1 {
		t.Fatalf("after Close: %d opened, %d closed", o, c)
	}
	if _, err := u.Read(make([]byte, 10)); !errors.Is(err, errReaderClosed) {
		t.Fatalf("Read after Close: %v", err)
	}

	w := &upstreamReader{ctx: ctx, engine: eng, po: po, idx: []int{0, 1}}
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, w) // blocks on task 1
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := w.failure(); err != nil { // never waits on the Read
		t.Fatalf("failure while reading: %v", err)
	}
	cancel()
	w.Close()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the waiting Read ended with %v, want context.Canceled", err)
	}
	if o, c := eng.opened.Load(), eng.closed.Load(); o != 2 || c != 2 {
		t.Fatalf("after the second Close: %d opened, %d closed", o, c)
	}
}
