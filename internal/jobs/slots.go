package jobs

import (
	"context"
	"sync"
)

// slotPool is the node's pool of run slots, shared by every job. A job has
// at most one waiter at a time (its dispatcher asks for one slot, starts a
// task, then asks again). A freed slot goes to the waiter whose account
// holds the fewest slots, first come first served among equals: between
// jobs of one account grants alternate (a job with 10,000 tasks does not
// starve one with 10), and an account with many jobs does not starve an
// account with one.
//
// Streaming tasks (started before all their inputs exist) wait on other
// tasks while holding a slot; at most size-1 of them hold slots at once,
// so one slot always remains for the work they wait on.
type slotPool struct {
	mu        sync.Mutex
	size      int
	streamMax int // the most streaming tasks: the node's own slots less one
	used      int
	streaming int
	byAccount map[string]int // slots held per account
	waiters   []slotWaiter   // in arrival order; each is granted one slot
}

type slotWaiter struct {
	account string
	ch      chan struct{}
}

func newSlotPool(size int) *slotPool {
	size = max(size, 1)
	return &slotPool{size: size, streamMax: size - 1, byAccount: map[string]int{}}
}

// resize sets how many slots the pool hands out (in a cluster, the slots
// of the nodes taking work); waiting jobs get what a larger size frees.
// Streaming tasks stay bounded by the node's own slots: they run here.
func (p *slotPool) resize(size int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.size = max(size, 1)
	for p.used < p.size && len(p.waiters) > 0 {
		p.grantLocked()
	}
}

// acquire waits for a slot for account, in turn with other jobs'
// dispatchers.
func (p *slotPool) acquire(ctx context.Context, account string) error {
	p.mu.Lock()
	if p.used < p.size && len(p.waiters) == 0 {
		p.takeLocked(account)
		p.mu.Unlock()
		return nil
	}
	ch := make(chan struct{}, 1)
	p.waiters = append(p.waiters, slotWaiter{account: account, ch: ch})
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		for i, w := range p.waiters {
			if w.ch == ch {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Granted while giving up: hand the slot on.
		p.releaseLocked(account, false)
		return ctx.Err()
	}
}

func (p *slotPool) takeLocked(account string) {
	p.used++
	p.byAccount[account]++
}

// tryAcquireStreaming takes a slot for a streaming task if one is free, no
// one is waiting, and the streaming budget (streamMax) allows.
func (p *slotPool) tryAcquireStreaming(account string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used >= p.size || len(p.waiters) > 0 || p.streaming >= p.streamMax {
		return false
	}
	p.takeLocked(account)
	p.streaming++
	return true
}

// release returns account's slot taken by acquire (streaming false) or by
// tryAcquireStreaming (streaming true).
func (p *slotPool) release(account string, streaming bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.releaseLocked(account, streaming)
}

func (p *slotPool) releaseLocked(account string, streaming bool) {
	if streaming {
		p.streaming--
	}
	p.used--
	if p.byAccount[account]--; p.byAccount[account] <= 0 {
		delete(p.byAccount, account)
	}
	if len(p.waiters) > 0 && p.used < p.size {
		p.grantLocked()
	}
}

// grantLocked gives a slot to the waiter whose account holds the fewest.
func (p *slotPool) grantLocked() {
	next := 0
	for i, w := range p.waiters {
		if p.byAccount[w.account] < p.byAccount[p.waiters[next].account] {
			next = i
		}
	}
	w := p.waiters[next]
	p.waiters = append(p.waiters[:next], p.waiters[next+1:]...)
	p.takeLocked(w.account)
	w.ch <- struct{}{}
}

// free reports the slots not in use (for the scheduler's snapshot).
func (p *slotPool) free() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size - p.used
}
