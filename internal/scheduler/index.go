package scheduler

import "math"

// searchMax bounds the best-first walk of the heap for a task the lightest
// node cannot take (short of memory); past it, one scan of the heap.
const searchMax = 256

// entry is a live node's remaining capacity while placing with an index.
type entry struct {
	id    string
	slots int
	mem   int64
	pos   int // position in the heap; -1 once full
}

// index is the state of one placeIndexed call: the live nodes (first
// entry of each id), a map from id to node, and a heap of the nodes with
// free slots, lightest first.
type index struct {
	entries  []entry
	byID     map[string]int
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
		plan.Assignments = append(plan.Assignments, Assignment{Task: t.ID, Node: x.entries[best].id, Local: local})
	}
	return plan
}

func newIndex(nodes []Node) *index {
	x := &index{entries: make([]entry, 0, len(nodes)), byID: make(map[string]int, len(nodes))}
	for i := range nodes {
		n := &nodes[i]
		if !live(n) {
			continue
		}
		if _, dup := x.byID[n.ID]; dup {
			continue // the first live entry of an id counts
		}
		x.byID[n.ID] = len(x.entries)
		x.entries = append(x.entries, entry{id: n.ID, slots: n.FreeSlots, mem: n.FreeMemory})
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

// lighterAt orders entries a and b for the least-loaded choice.
func (x *index) lighterAt(a, b int) bool {
	ea, eb := &x.entries[a], &x.entries[b]
	return lighter(ea.slots, ea.mem, ea.id, eb.slots, eb.mem, eb.id)
}

func (x *index) fitsAt(i int, need int64) bool {
	return fits(x.entries[i].slots, x.entries[i].mem, need)
}

// holder is the lightest holder of t's input that fits, or -1.
func (x *index) holder(t Task) int {
	best := -1
	for _, id := range t.Holders {
		if i, ok := x.byID[id]; ok && x.fitsAt(i, t.Memory) && (best < 0 || x.lighterAt(i, best)) {
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
