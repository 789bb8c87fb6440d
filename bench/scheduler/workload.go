package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/insitu-cloud/insitu/internal/scheduler"
)

const gib = int64(1) << 30

// machine is one node size of the simulated fleet: sandbox slots and memory
// per slot, and how often it occurs (weights add up to 100).
type machine struct {
	slots  int
	memory int64 // per slot
	weight int
}

// fleet is the mix of node sizes: many small and medium nodes, a few big.
var fleet = []machine{
	{2, 2 * gib, 10}, {4, 2 * gib, 20}, {8, 2 * gib, 25}, {16, 2 * gib, 20},
	{24, 4 * gib, 10}, {32, 4 * gib, 10}, {64, 4 * gib, 5},
}

// workload is a simulated cluster and the tasks placed on it.
type workload struct {
	base  scheduler.Snapshot // the cluster before any placement
	tasks []scheduler.Task
}

// newWorkload builds nodes across zones and the tasks of jobs of jobSize
// tasks each (see BENCHMARKS.md for the mix). The same seed gives the same
// workload.
func newWorkload(seed uint64, nodes, tasks, jobSize int) workload {
	r := rand.New(rand.NewPCG(seed, uint64(nodes)))
	var w workload
	w.base.Nodes = make([]scheduler.Node, nodes)
	for i := range w.base.Nodes {
		w.base.Nodes[i] = newNode(r, i)
	}
	w.tasks = make([]scheduler.Task, tasks)
	for i := range w.tasks {
		w.tasks[i] = newTask(r, i, i%jobSize, jobSize, nodes)
	}
	return w
}

// newNode is node i: a size from the fleet, zone i%zones, and a random
// share of its slots and memory already in use (and one node in ten made
// full on top of those full by chance).
func newNode(r *rand.Rand, i int) scheduler.Node {
	const zones = 6
	m := pick(r)
	used := r.IntN(m.slots + 1)
	if r.IntN(10) == 0 {
		used = m.slots
	}
	free := m.slots - used
	mem := int64(free) * m.memory
	if free > 0 {
		mem -= r.Int64N(m.memory) // runs use less than their per-slot share
	} else {
		mem = r.Int64N(m.memory) // full on slots, some memory left
	}
	return scheduler.Node{
		ID:   fmt.Sprintf("node-%05d", i),
		Zone: fmt.Sprintf("zone-%c", 'a'+i%zones), FreeSlots: free, FreeMemory: max(mem, 1),
	}
}

func pick(r *rand.Rand) machine {
	n := r.IntN(100)
	for _, m := range fleet {
		if n < m.weight {
			return m
		}
		n -= m.weight
	}
	return fleet[len(fleet)-1]
}

// newTask is the k-th task of a job of size tasks: the last 5% of a job are
// reducers (no input, 1 GiB); the others are map tasks over an object held
// by 2 or 3 distinct random nodes (as rendezvous placement spreads
// replicas), half of them without a memory need and half needing 128 MiB
// to 2 GiB.
func newTask(r *rand.Rand, i, k, size, nodes int) scheduler.Task {
	t := scheduler.Task{ID: fmt.Sprintf("job-%04d/%d", i/size, k)}
	if k >= size-size/20 {
		t.Memory = gib
		return t
	}
	n := 2 + r.IntN(2)
	for len(t.Holders) < n {
		h := fmt.Sprintf("node-%05d", r.IntN(nodes))
		if !contains(t.Holders, h) {
			t.Holders = append(t.Holders, h)
		}
	}
	if r.IntN(2) == 0 {
		t.Memory = int64(1+r.IntN(16)) << 27
	}
	return t
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// cluster is the live state the placements are booked on: the snapshot
// the next Place call sees. Booking happens outside the timed calls.
type cluster struct {
	snap  scheduler.Snapshot
	base  scheduler.Snapshot
	index map[string]int
	free  int // free slots now
	full  int // free slots at the start
}

func newCluster(base scheduler.Snapshot) *cluster {
	c := &cluster{base: base, index: make(map[string]int, len(base.Nodes))}
	for i, n := range base.Nodes {
		c.index[n.ID] = i
		c.full += n.FreeSlots
	}
	c.reset()
	return c
}

// reset returns the cluster to its starting state (every run done).
func (c *cluster) reset() {
	c.snap.Nodes = append(c.snap.Nodes[:0], c.base.Nodes...)
	c.free = c.full
}

// book applies a plan, then resets the cluster once half of its free slots
// are taken, so the calls see a cluster between full and half full.
func (c *cluster) book(p scheduler.Plan, tasks []scheduler.Task) {
	mem := make(map[string]int64, len(tasks))
	for _, t := range tasks {
		mem[t.ID] = t.Memory
	}
	for _, a := range p.Assignments {
		n := &c.snap.Nodes[c.index[a.Node]]
		n.FreeSlots--
		c.free--
		if m := mem[a.Task]; m > 0 && n.FreeMemory > 0 {
			n.FreeMemory = max(n.FreeMemory-m, -1)
			if n.FreeMemory == 0 {
				n.FreeMemory = -1
			}
		}
	}
	if c.free < c.full/2 {
		c.reset()
	}
}
