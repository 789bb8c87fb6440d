package local

import (
	"hash"
	"sync"
)

// A lone PUT's MD5 (about 21 ms per 16 MiB here, the slowest step of a
// put) runs on a goroutine of its own, beside the body's reads, block
// CRCs and device writes; with more puts in flight the cores are busy
// anyway and the hash stays inline (see Engine.bodyMD5).
const (
	pipeChunk   = 256 << 10 // bytes handed to the hashing goroutine at once
	pipeBuffers = 4         // chunks in flight: the most the hash lags
	// pipeMaxPuts is the most puts in flight for which the hash is
	// pipelined.
	pipeMaxPuts = 2
)

// pipeHash is a hash.Hash whose Write copies p into one of pipeBuffers
// chunks (waiting for a free one: the hash lags at most that much), so
// the caller may reuse p at once, and whose goroutine hashes full chunks
// into h. Sum waits for every byte written. The goroutine is owned by the
// pipeHash: Sum or stop ends it, and the caller must call one of them.
// Not safe for concurrent use.
type pipeHash struct {
	h    hash.Hash
	pool *sync.Pool // *[]byte of pipeChunk bytes
	free chan *[]byte
	work chan []byte
	done chan struct{}
	cur  *[]byte // being filled
	n    int
	off  bool // stopped
}

func newPipeHash(h hash.Hash, pool *sync.Pool) *pipeHash {
	p := &pipeHash{h: h, pool: pool, free: make(chan *[]byte, pipeBuffers),
		work: make(chan []byte, pipeBuffers), done: make(chan struct{})}
	for range pipeBuffers {
		p.free <- pool.Get().(*[]byte)
	}
	p.cur = <-p.free
	go p.run()
	return p
}

// run hashes chunks until work is closed, returning each chunk's buffer.
func (p *pipeHash) run() {
	defer close(p.done)
	for b := range p.work {
		p.h.Write(b)
		bp := b[:cap(b)]
		p.free <- &bp
	}
}

func (p *pipeHash) Write(b []byte) (int, error) {
	total := len(b)
	for len(b) > 0 {
		c := copy((*p.cur)[p.n:], b)
		p.n += c
		b = b[c:]
		if p.n == len(*p.cur) {
			p.send()
		}
	}
	return total, nil
}

// send hands the filled part of the current chunk to the goroutine and
// takes a free one.
func (p *pipeHash) send() {
	p.work <- (*p.cur)[:p.n]
	p.cur, p.n = <-p.free, 0
}

// Sum waits for every byte written and appends the hash to b; it stops
// the goroutine, so nothing may be written after it.
func (p *pipeHash) Sum(b []byte) []byte {
	if p.n > 0 && !p.off {
		p.send()
	}
	p.stop()
	return p.h.Sum(b)
}

// stop ends the goroutine (after the chunks already sent) and returns the
// buffers to the pool. It is idempotent.
func (p *pipeHash) stop() {
	if p.off {
		return
	}
	p.off = true
	close(p.work)
	<-p.done
	close(p.free)
	for bp := range p.free {
		p.pool.Put(bp)
	}
	p.pool.Put(p.cur)
	p.cur = nil
}

func (p *pipeHash) Reset()         { panic("local: pipeHash cannot be reset") }
func (p *pipeHash) Size() int      { return p.h.Size() }
func (p *pipeHash) BlockSize() int { return p.h.BlockSize() }
