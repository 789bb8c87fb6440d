package scheduler

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// oddCluster is a random cluster with everything Place must get right:
// ids listed twice (full or not), full nodes, negative and unaccounted
// memory, ties on load, and tasks whose holders are unknown, repeated or
// full.
func oddCluster(r *rand.Rand, nodes, tasks int) cluster {
	var c cluster
	id := func() string { return fmt.Sprintf("n%03d", r.IntN(nodes+nodes/4+1)) } // some ids repeat
	for range nodes {
		n := Node{ID: id(), Zone: "z", FreeSlots: r.IntN(6) - 1}
		switch r.IntN(4) {
		case 0: // unaccounted
		case 1:
			n.FreeMemory = int64(r.IntN(3)) - 1
		default:
			n.FreeMemory = int64(1+r.IntN(8)) << 20
		}
		c.snap.Nodes = append(c.snap.Nodes, n)
	}
	for i := range tasks {
		t := Task{ID: fmt.Sprintf("t%d", i)}
		for range r.IntN(5) {
			t.Holders = append(t.Holders, id())
		}
		if r.IntN(2) == 0 {
			t.Memory = int64(1+r.IntN(4)) << 20
		}
		c.tasks = append(c.tasks, t)
	}
	return c
}

// TestPlaceMatchesReference: the scan and the index each give the plan the
// earlier heap-only Place gave, on seeded random clusters of every shape,
// and so does Place, whichever of the two it picks.
func TestPlaceMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for round := range 1500 {
		nodes := 1 + r.IntN(60)
		tasks := r.IntN(3 * scanMax)
		if round%20 == 0 {
			nodes, tasks = 200+r.IntN(800), r.IntN(3000)
		}
		c := oddCluster(r, nodes, tasks)
		want := refPlace(c.snap, c.tasks)
		if got := Place(c.snap, c.tasks); !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d (%d nodes, %d tasks): Place: %s", round, nodes, tasks, planDiff(got, want))
		}
		if got := placeIndexed(c.snap, c.tasks); !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d (%d nodes, %d tasks): index: %s", round, nodes, tasks, planDiff(got, want))
		}
		if got, ok := placeByScan(c.snap, c.tasks); ok && !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d (%d nodes, %d tasks): scan: %s", round, nodes, tasks, planDiff(got, want))
		}
	}
}

// TestPlaceMatchesReferenceLarge: the same on the property tests'
// clusters, thousands of nodes, one task and many per call.
func TestPlaceMatchesReferenceLarge(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		c := fakeCluster(seed, 5000, 8000, seed%2 == 0)
		if got, want := Place(c.snap, c.tasks), refPlace(c.snap, c.tasks); !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: %s", seed, planDiff(got, want))
		}
		for i := range 50 {
			one := c.tasks[i : i+1]
			if got, want := Place(c.snap, one), refPlace(c.snap, one); !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d task %d: %s", seed, i, planDiff(got, want))
			}
		}
	}
}

// planDiff describes the first difference between two plans.
func planDiff(got, want Plan) string {
	for i := range min(len(got.Assignments), len(want.Assignments)) {
		if got.Assignments[i] != want.Assignments[i] {
			return fmt.Sprintf("assignment %d is %+v, want %+v", i, got.Assignments[i], want.Assignments[i])
		}
	}
	return fmt.Sprintf("%d assignments, unplaced %v; want %d, unplaced %v",
		len(got.Assignments), got.Unplaced, len(want.Assignments), want.Unplaced)
}

// TestPlaceScanFallsBack: the cases the scan hands to the index (a task
// with more than 64 holders; a duplicate id that would win) give the
// reference plan.
func TestPlaceScanFallsBack(t *testing.T) {
	snap := Snapshot{Nodes: []Node{
		{ID: "b", FreeSlots: 1}, {ID: "a", FreeSlots: 0}, {ID: "c", FreeSlots: 2}, {ID: "b", FreeSlots: 9},
	}}
	many := Task{ID: "many", Holders: []string{"c"}}
	for i := range 70 {
		many.Holders = append(many.Holders, fmt.Sprintf("x%d", i))
	}
	for _, tasks := range [][]Task{
		{{ID: "t1"}, {ID: "t2"}, {ID: "t3"}, {ID: "t4"}}, // the second "b" is lighter but does not count
		{many, {ID: "t2", Holders: []string{"b"}}},
	} {
		want := refPlace(snap, tasks)
		if _, ok := placeByScan(snap, tasks); ok {
			t.Fatalf("%s: the scan did not hand over", tasks[0].ID)
		}
		if got := Place(snap, tasks); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %s", tasks[0].ID, planDiff(got, want))
		}
	}
}
