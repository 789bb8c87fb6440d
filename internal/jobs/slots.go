package jobs

import (
	"context"
	"sync"
)

// slotPool is the node's pool of run slots, shared by every job. Waiters
// are served first come, first served, and a job has at most one waiter at
// a time (its dispatcher asks for one slot, starts a task, then asks
// again), so the queue is a round robin between jobs: a job with 10,000
// tasks does not starve one with 10.
//
// Streaming tasks (started before all their inputs exist) wait on other
// tasks while holding a slot; at most size-1 of them hold slots at once,
// so one slot always remains for the work they wait on.
type slotPool struct {
	mu        sync.Mutex
	size      int
	used      int
	streaming int
	waiters   []chan struct{} // FIFO; each is granted one slot
}

func newSlotPool(size int) *slotPool { return &slotPool{size: max(size, 1)} }

// acquire waits for a slot, in turn with other jobs' dispatchers.
func (p *slotPool) acquire(ctx context.Context) error {
	p.mu.Lock()
	if p.used < p.size && len(p.waiters) == 0 {
		p.used++
		p.mu.Unlock()
		return nil
	}
	ch := make(chan struct{}, 1)
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		for i, w := range p.waiters {
			if w == ch {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Granted while giving up: hand the slot on.
		p.releaseLocked(false)
		return ctx.Err()
	}
}

// tryAcquireStreaming takes a slot for a streaming task if one is free, no
// one is waiting, and the streaming budget (size-1) allows.
func (p *slotPool) tryAcquireStreaming() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used >= p.size || len(p.waiters) > 0 || p.streaming >= p.size-1 {
		return false
	}
	p.used++
	p.streaming++
	return true
}

// release returns a slot taken by acquire (streaming false) or by
// tryAcquireStreaming (streaming true).
func (p *slotPool) release(streaming bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.releaseLocked(streaming)
}

func (p *slotPool) releaseLocked(streaming bool) {
	if streaming {
		p.streaming--
	}
	if len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		ch <- struct{}{} // the slot passes to the waiter, used stays
		return
	}
	p.used--
}

// free reports the slots not in use (for the scheduler's snapshot).
func (p *slotPool) free() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size - p.used
}
