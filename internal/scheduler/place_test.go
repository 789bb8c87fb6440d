package scheduler

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// cluster is a random fake cluster and workload.
type cluster struct {
	snap  Snapshot
	tasks []Task
}

// fakeCluster builds nodes across zones with random free slots and memory,
// and tasks whose inputs live on 1-3 random nodes (some on none).
func fakeCluster(seed uint64, nodes, tasks int, memory bool) cluster {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var c cluster
	c.snap.Now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range nodes {
		n := Node{ID: fmt.Sprintf("node-%05d", i), Zone: fmt.Sprintf("zone-%d", i%5), FreeSlots: r.IntN(9)}
		if memory {
			n.FreeMemory = int64(1+r.IntN(16)) << 28
		}
		c.snap.Nodes = append(c.snap.Nodes, n)
	}
	for i := range tasks {
		t := Task{ID: fmt.Sprintf("task-%06d", i)}
		for range r.IntN(4) {
			t.Holders = append(t.Holders, fmt.Sprintf("node-%05d", r.IntN(nodes)))
		}
		if memory {
			t.Memory = int64(1+r.IntN(4)) << 28
		}
		c.tasks = append(c.tasks, t)
	}
	return c
}

// checkInvariants asserts what every plan must satisfy.
func checkInvariants(t *testing.T, c cluster, p Plan) {
	t.Helper()
	nodes := map[string]Node{}
	for _, n := range c.snap.Nodes {
		if _, ok := nodes[n.ID]; !ok {
			nodes[n.ID] = n
		}
	}
	tasks := map[string]Task{}
	for _, tk := range c.tasks {
		tasks[tk.ID] = tk
	}
	if got := len(p.Assignments) + len(p.Unplaced); got != len(c.tasks) {
		t.Fatalf("%d assignments + %d unplaced for %d tasks", len(p.Assignments), len(p.Unplaced), len(c.tasks))
	}
	usedSlots := map[string]int{}
	usedMem := map[string]int64{}
	seen := map[string]bool{}
	for _, a := range p.Assignments {
		if seen[a.Task] {
			t.Fatalf("task %s assigned twice", a.Task)
		}
		seen[a.Task] = true
		n, ok := nodes[a.Node]
		if !ok {
			t.Fatalf("task %s on unknown node %s", a.Task, a.Node)
		}
		tk := tasks[a.Task]
		usedSlots[a.Node]++
		if n.FreeMemory > 0 && tk.Memory > 0 {
			usedMem[a.Node] += tk.Memory
		}
		holds := false
		for _, h := range tk.Holders {
			holds = holds || h == a.Node
		}
		if holds != a.Local {
			t.Fatalf("task %s on %s: Local=%v, holder=%v", a.Task, a.Node, a.Local, holds)
		}
	}
	// Never over-commit a node.
	for id, used := range usedSlots {
		n := nodes[id]
		if used > n.FreeSlots {
			t.Fatalf("node %s: %d tasks for %d free slots", id, used, n.FreeSlots)
		}
		if n.FreeMemory > 0 && usedMem[id] > n.FreeMemory {
			t.Fatalf("node %s: %d bytes booked of %d free", id, usedMem[id], n.FreeMemory)
		}
	}
	room := func(n Node, tk Task) bool {
		if n.FreeSlots-usedSlots[n.ID] <= 0 {
			return false
		}
		return n.FreeMemory == 0 || tk.Memory == 0 || n.FreeMemory-usedMem[n.ID] >= tk.Memory
	}
	// Data-local whenever a holder has room: capacity only shrinks while
	// placing, so a holder with room at the end had room when the task
	// was placed elsewhere.
	for _, a := range p.Assignments {
		if a.Local {
			continue
		}
		tk := tasks[a.Task]
		for _, h := range tk.Holders {
			if n, ok := nodes[h]; ok && room(n, tk) {
				t.Fatalf("task %s placed off its data on %s while holder %s has room", a.Task, a.Node, h)
			}
		}
	}
	// Every task is placed when capacity allows: an unplaced task fits
	// nowhere at the end (checked against the roomiest node left).
	anySlots, unaccounted, maxMem := false, false, int64(0)
	for _, n := range nodes {
		if n.FreeSlots-usedSlots[n.ID] <= 0 {
			continue
		}
		anySlots = true
		if n.FreeMemory == 0 {
			unaccounted = true
		}
		maxMem = max(maxMem, n.FreeMemory-usedMem[n.ID])
	}
	for _, id := range p.Unplaced {
		tk := tasks[id]
		if anySlots && (unaccounted || tk.Memory == 0 || maxMem >= tk.Memory) {
			t.Fatalf("task %s unplaced while a node has room", id)
		}
	}
}

func TestPlaceProperties(t *testing.T) {
	for _, tc := range []struct {
		nodes, tasks int
		memory       bool
	}{
		{1, 1, false}, {1, 10, false}, {3, 0, false},
		{1000, 2000, false}, {1000, 6000, false}, // under and over capacity
		{5000, 10000, false}, {2000, 3000, true}, {2000, 20000, true},
	} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("n%d-t%d-mem%v-s%d", tc.nodes, tc.tasks, tc.memory, seed), func(t *testing.T) {
				c := fakeCluster(seed, tc.nodes, tc.tasks, tc.memory)
				p := Place(c.snap, c.tasks)
				checkInvariants(t, c, p)
				total := 0
				for _, n := range c.snap.Nodes {
					total += n.FreeSlots
				}
				if !tc.memory && tc.tasks <= total && len(p.Unplaced) > 0 {
					t.Fatalf("%d unplaced with %d slots for %d tasks", len(p.Unplaced), total, tc.tasks)
				}
			})
		}
	}
}

func TestPlaceDeterministic(t *testing.T) {
	c := fakeCluster(42, 3000, 8000, true)
	first := Place(c.snap, c.tasks)
	for i := range 3 {
		// The same snapshot with its nodes in another order.
		r := rand.New(rand.NewPCG(uint64(i), 7))
		shuffled := c
		shuffled.snap.Nodes = append([]Node(nil), c.snap.Nodes...)
		r.Shuffle(len(shuffled.snap.Nodes), func(a, b int) {
			shuffled.snap.Nodes[a], shuffled.snap.Nodes[b] = shuffled.snap.Nodes[b], shuffled.snap.Nodes[a]
		})
		if again := Place(shuffled.snap, c.tasks); !reflect.DeepEqual(first, again) {
			t.Fatalf("run %d: a different plan for the same snapshot", i)
		}
	}
}

func TestPlacePrefersHolderThenLeastLoaded(t *testing.T) {
	snap := Snapshot{Nodes: []Node{
		{ID: "a", FreeSlots: 1}, {ID: "b", FreeSlots: 5}, {ID: "c", FreeSlots: 3},
	}}
	p := Place(snap, []Task{
		{ID: "t1", Holders: []string{"a"}},      // local on a
		{ID: "t2", Holders: []string{"a"}},      // a is full: least loaded, b
		{ID: "t3"},                              // b (4 free) over c (3)
		{ID: "t4", Holders: []string{"c", "b"}}, // both hold it: the less loaded, b (3) vs c (3) -> id b
	})
	want := []Assignment{{"t1", "a", true}, {"t2", "b", false}, {"t3", "b", false}, {"t4", "b", true}}
	if !reflect.DeepEqual(p.Assignments, want) || len(p.Unplaced) != 0 {
		t.Fatalf("plan %+v, want %+v", p, want)
	}
	full := Place(Snapshot{Nodes: []Node{{ID: "a", FreeSlots: 1, FreeMemory: 100}}},
		[]Task{{ID: "big", Memory: 200}, {ID: "small", Memory: 50}, {ID: "next", Memory: 10}})
	if len(full.Assignments) != 1 || full.Assignments[0].Task != "small" || !reflect.DeepEqual(full.Unplaced, []string{"big", "next"}) {
		t.Fatalf("memory and slots: %+v", full)
	}
}

// BenchmarkPlace places tasks on fake clusters of 5,000 and 10,000 nodes
// (with memory), one task a call (the scan) and 1,000 a call (the index),
// and reports placements per second. bench/scheduler measures the same
// with a more realistic cluster, latencies and a reference.
func BenchmarkPlace(b *testing.B) {
	for _, nodes := range []int{5000, 10000} {
		c := fakeCluster(1, nodes, 10000, true)
		for _, per := range []int{1, 1000} {
			b.Run(fmt.Sprintf("nodes=%d/tasks=%d", nodes, per), func(b *testing.B) {
				placed, i := 0, 0
				for b.Loop() {
					Place(c.snap, c.tasks[i:i+per])
					placed += per
					i = (i + per) % len(c.tasks)
				}
				b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
			})
		}
	}
}
