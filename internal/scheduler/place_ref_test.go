package scheduler

import (
	"container/heap"
	"math"
	"slices"
	"strings"
)

// refNode is a node's remaining capacity while placing.
type refNode struct {
	Node
	idx int // position in the heap
}

// fits reports whether n can take t.
func (n *refNode) fits(t Task) bool {
	return n.FreeSlots > 0 && (n.FreeMemory == 0 || t.Memory == 0 || t.Memory <= n.FreeMemory)
}

// take books t on n.
func (n *refNode) take(t Task) {
	n.FreeSlots--
	if n.FreeMemory > 0 && t.Memory > 0 {
		n.FreeMemory -= t.Memory
		if n.FreeMemory == 0 {
			n.FreeMemory = -1 // accounted and exhausted, not "unaccounted"
		}
	}
}

// refLess orders nodes for the least-loaded choice: more free slots first,
// then more free memory, then the smaller id.
func refLess(a, b *refNode) bool {
	if a.FreeSlots != b.FreeSlots {
		return a.FreeSlots > b.FreeSlots
	}
	if a.FreeMemory != b.FreeMemory {
		return a.FreeMemory > b.FreeMemory
	}
	return strings.Compare(a.ID, b.ID) < 0
}

// refPlace is Place as it was before the scan and index rewrite: a heap
// of *node built per call, scanned whole when its top is short of memory.
// The rewrite must give the same plans.
func refPlace(snap Snapshot, tasks []Task) Plan {
	nodes := make([]*refNode, 0, len(snap.Nodes))
	byID := make(map[string]*refNode, len(snap.Nodes))
	for _, n := range snap.Nodes {
		if _, dup := byID[n.ID]; dup || n.FreeSlots <= 0 || n.FreeMemory < 0 {
			continue // a duplicate id keeps its first entry; full nodes take nothing
		}
		nn := &refNode{Node: n}
		nodes = append(nodes, nn)
		byID[n.ID] = nn
	}
	slices.SortFunc(nodes, func(a, b *refNode) int { return strings.Compare(a.ID, b.ID) })
	h := &refHeap{}
	for _, n := range nodes {
		heap.Push(h, n)
	}
	plan := Plan{Assignments: make([]Assignment, 0, len(tasks))}
	noFit := int64(math.MaxInt64) // the smallest task memory that fit nowhere
	for _, t := range tasks {
		// Data-local first: the holder with room that is least loaded.
		var best *refNode
		for _, id := range t.Holders {
			if n := byID[id]; n != nil && n.fits(t) && (best == nil || refLess(n, best)) {
				best = n
			}
		}
		local := best != nil
		if best == nil && h.Len() > 0 && (t.Memory == 0 || t.Memory < noFit) {
			if top := (*h)[0]; top.fits(t) {
				best = top
			} else {
				// The top is short of memory for this task: the least
				// loaded node that fits, by a scan. Capacity only shrinks,
				// so a size that fits nowhere now never will: noFit
				// remembers it and later tasks as big skip the scan.
				for _, n := range *h {
					if n.fits(t) && (best == nil || refLess(n, best)) {
						best = n
					}
				}
				if best == nil {
					noFit = t.Memory
				}
			}
		}
		if best == nil {
			plan.Unplaced = append(plan.Unplaced, t.ID)
			continue
		}
		best.take(t)
		if best.idx >= 0 {
			if best.FreeSlots > 0 {
				heap.Fix(h, best.idx)
			} else {
				heap.Remove(h, best.idx)
			}
		}
		plan.Assignments = append(plan.Assignments, Assignment{Task: t.ID, Node: best.ID, Local: local})
	}
	return plan
}

// refHeap orders nodes least loaded first.
type refHeap []*refNode

func (h refHeap) Len() int           { return len(h) }
func (h refHeap) Less(i, j int) bool { return refLess(h[i], h[j]) }
func (h refHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *refHeap) Push(x any) {
	n := x.(*refNode)
	n.idx = len(*h)
	*h = append(*h, n)
}
func (h *refHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	*h = old[:len(old)-1]
	n.idx = -1
	return n
}
