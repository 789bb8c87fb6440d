package local

import (
	"bytes"
	"crypto/md5"
	"math/rand/v2"
	"sync"
	"testing"
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
