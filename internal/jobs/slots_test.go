package jobs

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

func (p *slotPool) waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiters)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSlotPoolFairness: two jobs' dispatchers compete for one slot (each,
// like jobRun.dispatch, asks again as soon as it got one). A job with many
// tasks waiting does not starve the other: grants alternate.
func TestSlotPoolFairness(t *testing.T) {
	for _, size := range []int{1, 2} {
		p := newSlotPool(size)
		ctx := context.Background()
		for range size { // the test holds every slot
			if err := p.acquire(ctx, "acct"); err != nil {
				t.Fatal(err)
			}
		}
		grants := make(chan string)
		dispatcher := func(name string, tasks int) {
			for range tasks {
				if err := p.acquire(ctx, "acct"); err != nil {
					return
				}
				grants <- name // the task runs until the test releases a slot
			}
		}
		go dispatcher("big", 1000)
		waitFor(t, "big waiting", func() bool { return p.waiting() == 1 })
		go dispatcher("small", 5)
		waitFor(t, "small waiting", func() bool { return p.waiting() == 2 })

		var order []string
		for len(order) < 14 {
			p.release("acct", false)
			order = append(order, <-grants)
			want := 2
			if strings.Count(strings.Join(order, " "), "small") == 5 {
				want = 1 // small is done
			}
			waitFor(t, "the dispatcher to ask again", func() bool { return p.waiting() == want })
		}
		got := strings.Join(order, " ")
		const want = "big small big small big small big small big small big big big big"
		if got != want {
			t.Errorf("size %d: grants %q\nwant %q", size, got, want)
		}
	}
}

// TestSlotPoolStreamingBudget: streaming tasks never take the last slot,
// and do not jump ahead of a waiting dispatcher.
func TestSlotPoolStreamingBudget(t *testing.T) {
	p := newSlotPool(3)
	if !p.tryAcquireStreaming("acct") || !p.tryAcquireStreaming("acct") {
		t.Fatal("two streaming slots of three refused")
	}
	if p.tryAcquireStreaming("acct") {
		t.Fatal("the last slot went to a streaming task")
	}
	if err := p.acquire(context.Background(), "acct"); err != nil { // the last slot, for plain work
		t.Fatal(err)
	}
	p.release("acct", true) // one streaming slot back: plain work may take it, streaming too
	if p.free() != 1 {
		t.Fatalf("free %d", p.free())
	}
	// A waiter has priority over a new streaming task.
	if err := p.acquire(context.Background(), "acct"); err != nil {
		t.Fatal(err)
	}
	got := make(chan error)
	go func() { got <- p.acquire(context.Background(), "acct") }()
	waitFor(t, "a waiter", func() bool { return p.waiting() == 1 })
	p.release("acct", true) // the waiter gets it
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if p.tryAcquireStreaming("acct") {
		t.Fatal("a streaming slot while all are used")
	}
	if p.free() != 0 {
		t.Fatalf("free %d, want 0", p.free())
	}
}

// TestSlotPoolCancelledWaiter: a dispatcher that gives up leaves the
// queue, and a slot granted while it gave up is handed on, not lost.
func TestSlotPoolCancelledWaiter(t *testing.T) {
	p := newSlotPool(1)
	if err := p.acquire(context.Background(), "acct"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- p.acquire(ctx, "acct") }()
	waitFor(t, "a waiter", func() bool { return p.waiting() == 1 })
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("a cancelled acquire succeeded")
	}
	if p.waiting() != 0 {
		t.Fatal("the cancelled waiter stayed queued")
	}
	p.release("acct", false)
	if p.free() != 1 {
		t.Fatalf("free %d after release, want 1", p.free())
	}

	// Many racing cancels and releases: no slot is lost or made up.
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%5)*100*time.Microsecond)
			defer cancel()
			if p.acquire(ctx, "acct") == nil {
				p.release("acct", false)
			}
		}()
	}
	wg.Wait()
	if p.free() != 1 || p.waiting() != 0 {
		t.Fatalf("after racing cancels: free %d, waiting %d", p.free(), p.waiting())
	}
}

// TestSlotPoolFairBetweenAccounts: an account with three jobs waiting does
// not take three slots for every one of an account with one job; the
// freed slot goes to the account holding the fewest.
func TestSlotPoolFairBetweenAccounts(t *testing.T) {
	p := newSlotPool(2)
	ctx := context.Background()
	for range 2 { // alice's first two jobs hold both slots
		if err := p.acquire(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	grants := make(chan string, 8)
	ask := func(account string) {
		go func() {
			if p.acquire(ctx, account) == nil {
				grants <- account
			}
		}()
	}
	ask("alice") // her third job waits first
	waitFor(t, "alice waiting", func() bool { return p.waiting() == 1 })
	ask("bob")
	waitFor(t, "bob waiting", func() bool { return p.waiting() == 2 })
	p.release("alice", false)
	if got := <-grants; got != "bob" {
		t.Fatalf("the freed slot went to %s, who already holds one, before bob, who holds none", got)
	}
	p.release("alice", false)
	if got := <-grants; got != "alice" {
		t.Fatalf("second grant to %s", got)
	}
}

// TestSlotPoolResize: a pool grown to the cluster's slots grants its
// waiters at once, while streaming tasks (which run on this node) stay
// bounded by the node's own slots less one.
func TestSlotPoolResize(t *testing.T) {
	p := newSlotPool(2)
	ctx := context.Background()
	for range 2 {
		if err := p.acquire(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan struct{})
	go func() {
		if p.acquire(ctx, "b") == nil {
			close(got)
		}
	}()
	waitFor(t, "a waiter", func() bool { return p.waiting() == 1 })
	p.resize(8)
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("growing the pool did not grant the waiter")
	}
	if p.free() != 5 {
		t.Fatalf("free %d, want 5", p.free())
	}
	if !p.tryAcquireStreaming("a") || p.tryAcquireStreaming("a") {
		t.Fatal("streaming tasks: want exactly 1 (the node's 2 slots less one)")
	}
	p.resize(1) // a node left: nothing is taken back, nothing more granted
	if p.free() >= 0 {
		t.Fatalf("free %d after shrinking below use", p.free())
	}
}
