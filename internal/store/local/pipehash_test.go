package local

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// TestPipeHashMatchesMD5: bodies written in uneven pieces (empty, below,
// at and across chunk bounds, more than all buffers at once) hash to
// crypto/md5's sum; a hash stopped unread gives its buffers back.
func TestPipeHashMatchesMD5(t *testing.T) {
	pool := &sync.Pool{New: func() any { b := make([]byte, pipeChunk); return &b }}
	r := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, pipeChunk - 1, pipeChunk, pipeChunk + 1, pipeBuffers*pipeChunk + 7, 3 << 20} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(r.Uint32())
		}
		p := newPipeHash(md5.New(), pool)
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 1+r.IntN(200<<10))
			if len(rest) > 2<<20 && r.IntN(4) == 0 {
				n = min(len(rest), 2<<20) // one write larger than every buffer together
			}
			p.Write(rest[:n])
			rest = rest[n:]
		}
		want := md5.Sum(body)
		if got := p.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("size %d: %x, want %x", size, got, want)
		}
		p.stop() // idempotent after Sum
	}
	p := newPipeHash(md5.New(), pool)
	p.Write(make([]byte, 2*pipeChunk+5))
	p.stop()
	select {
	case <-p.done:
	default:
		t.Fatal("stop returned with the goroutine running")
	}
}

// TestConcurrentPutsHashOnLanes: twelve puts read their bodies at once
// (each body waits at a barrier until all have started), so the last to
// start hash on the shared SIMD lanes, the first two on their own
// goroutines and the others inline; every ETag is its body's MD5.
func TestConcurrentPutsHashOnLanes(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	const puts = 12
	var started sync.WaitGroup
	started.Add(puts)
	var most atomic.Int32
	errs := make(chan error, puts)
	for i := range puts {
		body := make([]byte, 1<<20+i*70001)
		rng := rand.New(rand.NewPCG(uint64(i), 9))
		for j := range body {
			body[j] = byte(rng.Uint32())
		}
		go func() {
			r := &barrierReader{r: bytes.NewReader(body), wait: func() {
				started.Done()
				started.Wait()
				most.Store(max(most.Load(), e.puts.Load()))
			}}
			info, err := e.PutObject(ctx, "b", fmt.Sprint(i), r, int64(len(body)), store.PutOptions{})
			if want := md5.Sum(body); err == nil && info.ETag != hex.EncodeToString(want[:]) {
				err = fmt.Errorf("put %d: ETag %s, want %x", i, info.ETag, want)
			}
			errs <- err
		}()
	}
	for range puts {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if most.Load() < laneMinPuts {
		t.Fatalf("at most %d puts hashed at once; the lanes were not used", most.Load())
	}
}

// barrierReader calls wait before its first Read.
type barrierReader struct {
	r    io.Reader
	wait func()
	once sync.Once
}

func (b *barrierReader) Read(p []byte) (int, error) {
	b.once.Do(b.wait)
	return b.r.Read(p)
}
