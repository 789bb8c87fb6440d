package scheduler

import "math"

// searchMax bounds the best-first walk of the heap for a task the lightest
// node cannot take (short of memory); past it, one scan of the heap.
const searchMax = 256

// entry is a live node's remaining capacity while placing with an index.
type entry struct {
	node  int // its snapshot entry, for the id
	slots int
	mem   int64
	pos   int // position in the heap; -1 once full
}

// index is the state of one placeIndexed call: the live nodes (first
// entry of each id), a table from id to node, and a heap of the nodes with
// free slots, lightest first.
type index struct {
	nodes    []Node  // the snapshot, read only
	entries  []entry // no pointers: the collector skips it
	byID     idTable
	heap     []int
	frontier []int // scratch for the best-first walk
}

// placeIndexed places tasks with an index built once for the call.
func placeIndexed(snap Snapshot, tasks []Task) Plan {
	x := newIndex(snap.Nodes)
	plan := Plan{Assignments: make([]Assignment, 0, len(tasks))}
	noFit := int64(math.MaxInt64) // the smallest task memory that fit nowhere
	for _, t := range tasks {
		best, local := x.holder(t), true
		if best < 0 && (t.Memory == 0 || t.Memory < noFit) {
			// Capacity only shrinks, so a size that fits nowhere now never
			// will: noFit remembers it and later tasks as big skip the search.
			if best, local = x.lightest(t.Memory), false; best < 0 && t.Memory > 0 {
				noFit = t.Memory
			}
		}
		if best < 0 {
			plan.Unplaced = append(plan.Unplaced, t.ID)
			continue
		}
		x.take(best, t.Memory)
		plan.Assignments = append(plan.Assignments, Assignment{Task: t.ID, Node: x.id(best), Local: local})
	}
	return plan
}

func newIndex(nodes []Node) *index {
	x := &index{nodes: nodes, entries: make([]entry, 0, len(nodes)), byID: newIDTable(len(nodes))}
	for i := range nodes {
		n := &nodes[i]
		if !live(n) {
			continue
		}
		at, p := x.byID.find(x, n.ID)
		if at >= 0 {
			continue // the first live entry of an id counts
		}
		x.byID.slots[p] = int32(len(x.entries) + 1)
		x.entries = append(x.entries, entry{node: i, slots: n.FreeSlots, mem: n.FreeMemory})
	}
	x.heap = make([]int, len(x.entries))
	for i := range x.heap {
		x.heap[i], x.entries[i].pos = i, i
	}
	for p := len(x.heap)/2 - 1; p >= 0; p-- {
		x.down(p)
	}
	return x
}

// id is entry i's node id.
func (x *index) id(i int) string { return x.nodes[x.entries[i].node].ID }

// lighterAt orders entries a and b as lighter does, reading the ids only
// on a tie.
func (x *index) lighterAt(a, b int) bool {
	ea, eb := &x.entries[a], &x.entries[b]
	if ea.slots != eb.slots || ea.mem != eb.mem {
		return ea.slots > eb.slots || ea.slots == eb.slots && ea.mem > eb.mem
	}
	return x.id(a) < x.id(b)
}

func (x *index) fitsAt(i int, need int64) bool {
	return fits(x.entries[i].slots, x.entries[i].mem, need)
}

// holder is the lightest holder of t's input that fits, or -1.
func (x *index) holder(t Task) int {
	best := -1
	for _, id := range t.Holders {
		if i, _ := x.byID.find(x, id); i >= 0 && x.fitsAt(i, t.Memory) && (best < 0 || x.lighterAt(i, best)) {
			best = i
		}
	}
	return best
}

// take books a task needing need bytes on entry i and restores the heap:
// the node only got heavier, or full.
func (x *index) take(i int, need int64) {
	e := &x.entries[i]
	e.slots, e.mem = book(e.slots, e.mem, need)
	if e.pos < 0 {
		return
	}
	if e.slots > 0 {
		x.down(e.pos)
		return
	}
	p, last := e.pos, len(x.heap)-1
	x.swap(p, last)
	x.heap = x.heap[:last]
	e.pos = -1
	if p < last {
		x.down(p)
		x.up(p)
	}
}
