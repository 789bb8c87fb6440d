package scheduler

import (
	"container/heap"
	"math"
	"slices"
	"strings"
	"time"
)

// Node is one node as the snapshot sees it.
type Node struct {
	ID   string
	Zone string
	// FreeSlots is how many more runs the node can start now.
	FreeSlots int
	// FreeMemory is the memory (bytes) still available to new runs; 0
	// means the node does not account memory (only slots count).
	FreeMemory int64
}

// Task is one unit of work to place.
type Task struct {
	ID string
	// Holders are the ids of the nodes that hold the task's input (empty
	// for a task without one, such as a reducer).
	Holders []string
	// Memory is what the task needs; 0 means it does not count memory.
	Memory int64
}

// Snapshot is the read-only view of the cluster a decision is made on.
type Snapshot struct {
	Nodes []Node
	// Now is the decision time (not used by the rules yet; passed in so
	// that rules that age work stay pure).
	Now time.Time
}

// Assignment places one task.
type Assignment struct {
	Task string
	Node string
	// Local is true when Node holds the task's input.
	Local bool
}

// Plan is the outcome of Place.
type Plan struct {
	// Assignments in the order of the tasks given.
	Assignments []Assignment
	// Unplaced are the ids of the tasks no node had room for, in order.
	Unplaced []string
}

// node is a node's remaining capacity while placing.
type node struct {
	Node
	idx int // position in the heap
}

// fits reports whether n can take t.
func (n *node) fits(t Task) bool {
	return n.FreeSlots > 0 && (n.FreeMemory == 0 || t.Memory == 0 || t.Memory <= n.FreeMemory)
}

// take books t on n.
func (n *node) take(t Task) {
	n.FreeSlots--
	if n.FreeMemory > 0 && t.Memory > 0 {
		n.FreeMemory -= t.Memory
		if n.FreeMemory == 0 {
			n.FreeMemory = -1 // accounted and exhausted, not "unaccounted"
		}
	}
}

// less orders nodes for the least-loaded choice: more free slots first,
// then more free memory, then the smaller id.
func less(a, b *node) bool {
	if a.FreeSlots != b.FreeSlots {
		return a.FreeSlots > b.FreeSlots
	}
	if a.FreeMemory != b.FreeMemory {
		return a.FreeMemory > b.FreeMemory
	}
	return strings.Compare(a.ID, b.ID) < 0
}

// Place assigns tasks to nodes. It is deterministic for a given snapshot
// and task list, and never books more tasks on a node than its free slots
// (or its free memory, when both sides account memory).
func Place(snap Snapshot, tasks []Task) Plan {
	nodes := make([]*node, 0, len(snap.Nodes))
	byID := make(map[string]*node, len(snap.Nodes))
	for _, n := range snap.Nodes {
		if _, dup := byID[n.ID]; dup || n.FreeSlots <= 0 || n.FreeMemory < 0 {
			continue // a duplicate id keeps its first entry; full nodes take nothing
		}
		nn := &node{Node: n}
		nodes = append(nodes, nn)
		byID[n.ID] = nn
	}
	slices.SortFunc(nodes, func(a, b *node) int { return strings.Compare(a.ID, b.ID) })
	h := &loadHeap{}
	for _, n := range nodes {
		heap.Push(h, n)
	}
	plan := Plan{Assignments: make([]Assignment, 0, len(tasks))}
	noFit := int64(math.MaxInt64) // the smallest task memory that fit nowhere
	for _, t := range tasks {
		// Data-local first: the holder with room that is least loaded.
		var best *node
		for _, id := range t.Holders {
			if n := byID[id]; n != nil && n.fits(t) && (best == nil || less(n, best)) {
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
					if n.fits(t) && (best == nil || less(n, best)) {
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

// loadHeap orders nodes least loaded first.
type loadHeap []*node

func (h loadHeap) Len() int           { return len(h) }
func (h loadHeap) Less(i, j int) bool { return less(h[i], h[j]) }
func (h loadHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *loadHeap) Push(x any) {
	n := x.(*node)
	n.idx = len(*h)
	*h = append(*h, n)
}
func (h *loadHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	*h = old[:len(old)-1]
	n.idx = -1
	return n
}
