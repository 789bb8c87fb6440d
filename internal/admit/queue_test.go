package admit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func mustEnqueue(t *testing.T, q *Queue, tenant string) *Ticket {
	t.Helper()
	tk, err := q.Enqueue(tenant)
	if err != nil {
		t.Fatalf("enqueue %s: %v", tenant, err)
	}
	return tk
}

func granted(tk *Ticket) bool {
	select {
	case <-tk.ready:
		tk.q.mu.Lock()
		defer tk.q.mu.Unlock()
		return tk.granted
	default:
		return false
	}
}

// A tenant saturating the node, with a long queue of its own, gets the
// next free slot only after a newcomer: the newcomer waits for one run.
func TestNewcomerGetsNextSlot(t *testing.T) {
	q := New(Config{Slots: 2})
	var a []*Ticket
	for range 8 {
		a = append(a, mustEnqueue(t, q, "alice"))
	}
	if !granted(a[0]) || !granted(a[1]) || granted(a[2]) {
		t.Fatal("alice should hold both slots and queue the rest")
	}
	b := mustEnqueue(t, q, "bob")
	if granted(b) {
		t.Fatal("bob granted with no slot free")
	}
	a[0].Release()
	if !granted(b) {
		t.Fatal("the first slot freed went to alice's queue, not to bob")
	}
	if granted(a[2]) {
		t.Fatal("alice got a third slot")
	}
	a[1].Release()
	if !granted(a[2]) {
		t.Fatal("alice's next run did not get the slot bob did not need")
	}
}

// Among tenants with equal running slots, the least recently served goes
// first, so three saturating tenants alternate.
func TestRoundRobinBetweenSaturatingTenants(t *testing.T) {
	q := New(Config{Slots: 1})
	queues := map[string][]*Ticket{}
	for _, name := range []string{"a", "b", "c"} {
		for range 4 {
			queues[name] = append(queues[name], mustEnqueue(t, q, name))
		}
	}
	var order []string
	for range 12 {
		for name, tks := range queues {
			if len(tks) > 0 && granted(tks[0]) {
				order = append(order, name)
				tks[0].Release()
				queues[name] = tks[1:]
				break
			}
		}
	}
	want := "[a b c a b c a b c a b c]"
	if got := fmt.Sprint(order); got != want {
		t.Fatalf("service order %s, want %s", got, want)
	}
}

func TestCaps(t *testing.T) {
	q := New(Config{Slots: 4, PerTenantRunning: 1, PerTenantQueued: 2})
	a1 := mustEnqueue(t, q, "a")
	a2 := mustEnqueue(t, q, "a")
	mustEnqueue(t, q, "a")
	if !granted(a1) || granted(a2) {
		t.Fatal("PerTenantRunning 1 not applied")
	}
	if _, err := q.Enqueue("a"); !errors.Is(err, ErrBusy) {
		t.Fatalf("third waiter: %v, want ErrBusy", err)
	}
	if b := mustEnqueue(t, q, "b"); !granted(b) {
		t.Fatal("another tenant is not affected by a's caps")
	}
	if r, w := q.Stats(); r != 2 || w != 2 {
		t.Fatalf("stats running %d waiting %d, want 2 and 2", r, w)
	}
}

func TestWaitCancelAndClose(t *testing.T) {
	q := New(Config{Slots: 1})
	hold := mustEnqueue(t, q, "a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := q.Acquire(ctx, "b"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled acquire: %v", err)
	}
	if _, w := q.Stats(); w != 0 {
		t.Fatalf("a cancelled waiter kept its place: %d waiting", w)
	}
	tk := mustEnqueue(t, q, "b")
	done := make(chan error, 1)
	go func() { done <- tk.Wait(context.Background()) }()
	q.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("wait after close: %v", err)
	}
	tk.Release()
	hold.Release()
	hold.Release() // idempotent
	if _, err := q.Enqueue("c"); !errors.Is(err, ErrClosed) {
		t.Fatalf("enqueue after close: %v", err)
	}
}

// Random workloads never over-commit the node or a tenant, and every
// ticket is eventually served.
func TestPropertyNoOvercommitNoStarvation(t *testing.T) {
	for seed := range 20 {
		r := rand.New(rand.NewPCG(uint64(seed), 1))
		slots, per := 1+r.IntN(4), 1+r.IntN(3)
		q := New(Config{Slots: slots, PerTenantRunning: per, PerTenantQueued: 1000})
		var mu sync.Mutex
		running, byTenant := 0, map[string]int{}
		var wg sync.WaitGroup
		for i := range 200 {
			name := fmt.Sprint("t", r.IntN(5))
			hold := time.Duration(r.IntN(50)) * time.Microsecond
			wg.Add(1)
			go func() {
				defer wg.Done()
				tk, err := q.Acquire(context.Background(), name)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				running++
				byTenant[name]++
				if running > slots || byTenant[name] > per {
					t.Errorf("seed %d run %d: %d running (slots %d), %s has %d (cap %d)", seed, i, running, slots, name, byTenant[name], per)
				}
				mu.Unlock()
				time.Sleep(hold)
				mu.Lock()
				running--
				byTenant[name]--
				mu.Unlock()
				tk.Release()
			}()
		}
		wg.Wait()
		if r, w := q.Stats(); r != 0 || w != 0 {
			t.Fatalf("seed %d: %d running %d waiting at the end", seed, r, w)
		}
	}
}
