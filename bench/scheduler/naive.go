package main

import "github.com/insitu-cloud/insitu/internal/scheduler"

// naivePlace is the reference: the rules of scheduler.Place done the
// obvious way, one scan of every node per task, keeping the best fitting
// holder and the best fitting node seen. It assumes distinct node ids (the
// bench's are). The bench checks that its plans equal Place's.
func naivePlace(snap scheduler.Snapshot, tasks []scheduler.Task) scheduler.Plan {
	nodes := make([]scheduler.Node, 0, len(snap.Nodes))
	for _, n := range snap.Nodes {
		if n.FreeSlots > 0 && n.FreeMemory >= 0 {
			nodes = append(nodes, n)
		}
	}
	plan := scheduler.Plan{Assignments: make([]scheduler.Assignment, 0, len(tasks))}
	for _, t := range tasks {
		local, any := -1, -1
		for i := range nodes {
			n := &nodes[i]
			if !naiveFits(n, t) {
				continue
			}
			if any < 0 || naiveLess(n, &nodes[any]) {
				any = i
			}
			if contains(t.Holders, n.ID) && (local < 0 || naiveLess(n, &nodes[local])) {
				local = i
			}
		}
		best := any
		if local >= 0 {
			best = local
		}
		if best < 0 {
			plan.Unplaced = append(plan.Unplaced, t.ID)
			continue
		}
		n := &nodes[best]
		n.FreeSlots--
		if n.FreeMemory > 0 && t.Memory > 0 {
			if n.FreeMemory -= t.Memory; n.FreeMemory == 0 {
				n.FreeMemory = -1
			}
		}
		plan.Assignments = append(plan.Assignments, scheduler.Assignment{Task: t.ID, Node: n.ID, Local: local >= 0})
	}
	return plan
}

func naiveFits(n *scheduler.Node, t scheduler.Task) bool {
	return n.FreeSlots > 0 && (n.FreeMemory == 0 || t.Memory == 0 || t.Memory <= n.FreeMemory)
}

// naiveLess: more free slots, then more free memory, then the smaller id.
func naiveLess(a, b *scheduler.Node) bool {
	if a.FreeSlots != b.FreeSlots {
		return a.FreeSlots > b.FreeSlots
	}
	if a.FreeMemory != b.FreeMemory {
		return a.FreeMemory > b.FreeMemory
	}
	return a.ID < b.ID
}
