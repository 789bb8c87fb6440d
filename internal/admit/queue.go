package admit

import (
	"context"
	"errors"
	"sync"
)

// Errors returned by Enqueue and Wait.
var (
	// ErrBusy means the tenant already has PerTenantQueued runs waiting.
	ErrBusy = errors.New("admit: too many runs waiting for this account; retry later")
	// ErrClosed means the queue was closed (the node is shutting down).
	ErrClosed = errors.New("admit: the node is shutting down")
)

// Config sizes a Queue. Zero fields take the defaults noted.
type Config struct {
	// Slots is how many runs execute at once on the node (its sandbox
	// workers). Default 1.
	Slots int
	// PerTenantRunning caps one tenant's slots. Default Slots: a tenant
	// alone may use the whole node, and fairness applies as soon as
	// another tenant waits.
	PerTenantRunning int
	// PerTenantQueued caps one tenant's waiting runs. Default 64.
	PerTenantQueued int
}

// Queue is a fair, bounded semaphore of run slots. It is safe for
// concurrent use.
type Queue struct {
	mu      sync.Mutex
	cfg     Config
	free    int
	served  uint64
	arrived uint64
	closed  bool
	tenants map[string]*tenant
}

type tenant struct {
	running    int
	waiting    []*Ticket // FIFO
	lastServed uint64
	arrival    uint64 // order of first arrival, the last tie-break
}

// New returns a Queue sized by cfg.
func New(cfg Config) *Queue {
	cfg.Slots = max(cfg.Slots, 1)
	if cfg.PerTenantRunning <= 0 {
		cfg.PerTenantRunning = cfg.Slots
	}
	if cfg.PerTenantQueued <= 0 {
		cfg.PerTenantQueued = 64
	}
	return &Queue{cfg: cfg, free: cfg.Slots, tenants: map[string]*tenant{}}
}

// Config returns the queue's configuration with defaults applied.
func (q *Queue) Config() Config { return q.cfg }

// Ticket is a tenant's place in the queue, and then its slot. Release
// must be called exactly once whatever happened (it is idempotent).
type Ticket struct {
	q       *Queue
	tenant  string
	ready   chan struct{} // closed when granted or when the queue closes
	granted bool          // guarded by q.mu
	done    bool          // guarded by q.mu
}

// Enqueue takes a place in the queue for tenant, or a slot at once when
// one is free and fairness allows. It answers ErrBusy when the tenant
// already has PerTenantQueued runs waiting, ErrClosed after Close.
func (q *Queue) Enqueue(tenantID string) (*Ticket, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, ErrClosed
	}
	t := q.tenants[tenantID]
	if t == nil {
		q.arrived++
		t = &tenant{arrival: q.arrived}
		q.tenants[tenantID] = t
	}
	if len(t.waiting) >= q.cfg.PerTenantQueued {
		return nil, ErrBusy
	}
	tk := &Ticket{q: q, tenant: tenantID, ready: make(chan struct{})}
	t.waiting = append(t.waiting, tk)
	q.dispatchLocked()
	return tk, nil
}

// Acquire is Enqueue then Wait; on error nothing is held.
func (q *Queue) Acquire(ctx context.Context, tenantID string) (*Ticket, error) {
	tk, err := q.Enqueue(tenantID)
	if err != nil {
		return nil, err
	}
	if err := tk.Wait(ctx); err != nil {
		tk.Release()
		return nil, err
	}
	return tk, nil
}

// Wait blocks until the ticket holds a slot, ctx ends (its error is
// returned and the ticket keeps its place until Release), or the queue
// closes (ErrClosed).
func (tk *Ticket) Wait(ctx context.Context) error {
	select {
	case <-tk.ready:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	tk.q.mu.Lock()
	defer tk.q.mu.Unlock()
	if !tk.granted {
		return ErrClosed
	}
	return nil
}

// Release gives back the slot, or the place in the queue when the ticket
// was never granted. It is idempotent.
func (tk *Ticket) Release() {
	q := tk.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if tk.done {
		return
	}
	tk.done = true
	t := q.tenants[tk.tenant]
	if tk.granted {
		t.running--
		q.free++
	} else {
		t.waiting = removeTicket(t.waiting, tk)
	}
	if t.running == 0 && len(t.waiting) == 0 {
		delete(q.tenants, tk.tenant)
	}
	q.dispatchLocked()
}

func removeTicket(s []*Ticket, tk *Ticket) []*Ticket {
	for i, x := range s {
		if x == tk {
			return append(s[:i], s[i+1:]...)
		}
	}
	return s
}

// dispatchLocked hands free slots to waiting tenants: the fewest running
// first, then the least recently served.
func (q *Queue) dispatchLocked() {
	for q.free > 0 && !q.closed {
		t := q.nextLocked()
		if t == nil {
			return
		}
		tk := t.waiting[0]
		t.waiting = t.waiting[1:]
		t.running++
		q.free--
		q.served++
		t.lastServed = q.served
		tk.granted = true
		close(tk.ready)
	}
}

func (q *Queue) nextLocked() *tenant {
	var best *tenant
	for _, t := range q.tenants {
		if len(t.waiting) == 0 || t.running >= q.cfg.PerTenantRunning {
			continue
		}
		if best == nil || less(t, best) {
			best = t
		}
	}
	return best
}

// less orders tenants for the next slot: fewest running, then least
// recently served, then first arrived.
func less(a, b *tenant) bool {
	if a.running != b.running {
		return a.running < b.running
	}
	if a.lastServed != b.lastServed {
		return a.lastServed < b.lastServed
	}
	return a.arrival < b.arrival
}

// Stats reports the slots in use and the runs waiting, over all tenants.
func (q *Queue) Stats() (running, waiting int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, t := range q.tenants {
		running += t.running
		waiting += len(t.waiting)
	}
	return running, waiting
}

// Close wakes every waiter with ErrClosed and refuses new tickets. Slots
// already granted stay held until released. It is idempotent.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	for _, t := range q.tenants {
		for _, tk := range t.waiting {
			close(tk.ready)
		}
	}
}
