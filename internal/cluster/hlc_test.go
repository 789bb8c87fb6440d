package cluster

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeTime is a settable physical clock for tests; safe for concurrent use.
type fakeTime struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeTime) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeTime) set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = t
}

func TestClockReadsPhysicalTime(t *testing.T) {
	at := time.UnixMilli(1_780_000_000_123)
	c := NewClock(func() time.Time { return at })
	got := c.Now()
	if got != uint64(at.UnixMilli())<<16 {
		t.Fatalf("Now = %#x, want %#x", got, uint64(at.UnixMilli())<<16)
	}
	if !HLCTime(got).Equal(at) {
		t.Fatalf("HLCTime = %v, want %v", HLCTime(got), at)
	}
	if real := HLCTime(NewClock(nil).Now()); time.Since(real).Abs() > time.Minute {
		t.Fatalf("default clock reads %v, now is %v", real, time.Now())
	}
}

func TestClockMonotonicConcurrent(t *testing.T) {
	ft := &fakeTime{t: time.UnixMilli(1_000_000)}
	c := NewClock(ft.now)
	const workers, each = 8, 2000
	readings := make([][]uint64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for range each {
				switch rng.IntN(10) {
				case 0: // time jumps back and forth
					ft.set(time.UnixMilli(1_000_000 + rng.Int64N(50) - 25))
				case 1:
					c.Observe(uint64(1_000_000+rng.Int64N(50)) << 16)
				}
				readings[w] = append(readings[w], c.Now())
			}
		}()
	}
	wg.Wait()
	var all []uint64
	for w, rs := range readings {
		for i := 1; i < len(rs); i++ {
			if rs[i] <= rs[i-1] {
				t.Fatalf("worker %d: reading %d = %#x after %#x", w, i, rs[i], rs[i-1])
			}
		}
		all = append(all, rs...)
	}
	slices.Sort(all)
	if n := len(slices.Compact(all)); n != workers*each {
		t.Fatalf("%d distinct readings of %d", n, workers*each)
	}
}

func TestClockObserveFuture(t *testing.T) {
	ft := &fakeTime{t: time.UnixMilli(5_000)}
	c := NewClock(ft.now)
	first := c.Now()
	for _, future := range []uint64{first + 1, uint64(9_000)<<16 | 7, uint64(9_000)<<16 | 0xffff} {
		c.Observe(future)
		if got := c.Now(); got <= future {
			t.Fatalf("after Observe(%#x), Now = %#x", future, got)
		}
	}
	before := c.Now()
	c.Observe(first) // the past changes nothing
	if got := c.Now(); got != before+1 {
		t.Fatalf("after observing the past, Now = %#x, want %#x", got, before+1)
	}
}

func TestClockPhysicalBackwards(t *testing.T) {
	for _, tc := range []struct {
		name string
		step func(i int) time.Time
	}{
		{"stalls", func(int) time.Time { return time.UnixMilli(7_000) }},
		{"goes back", func(i int) time.Time { return time.UnixMilli(int64(7_000 - i)) }},
		{"before 1970", func(int) time.Time { return time.UnixMilli(-5) }},
		{"jumps around", func(i int) time.Time { return time.UnixMilli(int64(7_000 + (i*7919)%101 - 50)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTime{t: time.UnixMilli(7_000)}
			c := NewClock(ft.now)
			prev := c.Now()
			for i := range 70_000 { // more than one millisecond's counter
				ft.set(tc.step(i))
				got := c.Now()
				if got <= prev {
					t.Fatalf("step %d: Now = %#x after %#x", i, got, prev)
				}
				prev = got
			}
		})
	}
}

// stamp orders writes to one key: the clock reading, then the node name
// to break ties (the same fields and rule as store.Stamp).
type stamp struct {
	HLC  uint64
	Node string
}

func (s stamp) greater(o stamp) bool {
	if s.HLC != o.HLC {
		return s.HLC > o.HLC
	}
	return s.Node > o.Node
}

// event is one write to a key: a value, or a delete (a tombstone).
type event struct {
	Stamp   stamp
	Value   string
	Deleted bool
}

// lww is one replica's state of a key under the last-writer-wins rule:
// an event is applied if its stamp is greater than the held one.
type lww struct {
	held event
	has  bool
}

func (r *lww) apply(e event) {
	if !r.has || e.Stamp.greater(r.held.Stamp) {
		r.held, r.has = e, true
	}
}

// randomEvents returns distinct-stamped writes to one key: some from
// three clocks that observe each other's writes now and then (as nodes do
// when they forward), some with colliding readings so node names break ties.
func randomEvents(rng *rand.Rand) []event {
	ft := &fakeTime{t: time.UnixMilli(1_000)}
	nodes := []string{"a", "b", "c"}
	clocks := []*Clock{NewClock(ft.now), NewClock(ft.now), NewClock(ft.now)}
	seen := map[stamp]bool{}
	var out []event
	for i := range 1 + rng.IntN(30) {
		n := rng.IntN(len(nodes))
		var s stamp
		if rng.IntN(3) == 0 {
			s = stamp{HLC: uint64(1_000+rng.IntN(3)) << 16, Node: nodes[n]}
		} else {
			if len(out) > 0 && rng.IntN(2) == 0 {
				clocks[n].Observe(out[rng.IntN(len(out))].Stamp.HLC)
			}
			ft.set(time.UnixMilli(int64(1_000 + rng.IntN(5))))
			s = stamp{HLC: clocks[n].Now(), Node: nodes[n]}
		}
		if seen[s] {
			continue // one node never issues one reading twice
		}
		seen[s] = true
		out = append(out, event{Stamp: s, Value: fmt.Sprintf("v%d", i), Deleted: rng.IntN(4) == 0})
	}
	return out
}

// deliver returns events in a random order, each one to three times.
func deliver(rng *rand.Rand, events []event) []event {
	var out []event
	for _, e := range events {
		for range 1 + rng.IntN(3) {
			out = append(out, e)
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func TestConvergeLastWriterWins(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	for trial := range 2000 {
		events := randomEvents(rng)
		want := events[0]
		for _, e := range events[1:] {
			if e.Stamp.greater(want.Stamp) {
				want = e
			}
		}
		var replicas [3]lww
		for i := range replicas {
			for _, e := range deliver(rng, events) {
				replicas[i].apply(e)
			}
			if replicas[i].held != want {
				t.Fatalf("trial %d replica %d holds %+v, want %+v (events %+v)",
					trial, i, replicas[i].held, want, events)
			}
		}
	}
}

// TestConvergeCausalWriteWins checks what the clock adds to the rule: a
// write made after a node observed another write wins over it, even when
// the writer's physical clock is behind.
func TestConvergeCausalWriteWins(t *testing.T) {
	ahead := NewClock(func() time.Time { return time.UnixMilli(9_000) })
	behind := NewClock(func() time.Time { return time.UnixMilli(1_000) })
	first := event{Stamp: stamp{HLC: ahead.Now(), Node: "z"}, Value: "old"}
	behind.Observe(first.Stamp.HLC)
	second := event{Stamp: stamp{HLC: behind.Now(), Node: "a"}, Value: "new"}
	for _, order := range [][]event{{first, second}, {second, first}} {
		var r lww
		for _, e := range order {
			r.apply(e)
		}
		if r.held.Value != "new" {
			t.Fatalf("order %+v: replica holds %q, want the causally later write", order, r.held.Value)
		}
	}
}
