// Package scheduler decides where work runs. It is pure: Place takes a
// read-only snapshot of the nodes (their zones, free sandbox slots and
// memory) and the tasks to place (each with the nodes that hold its input)
// and returns assignments, with no I/O, no clock of its own and no import
// of any server package, so the single node today and the cluster later
// call the same function, and tests drive it with fake clusters of
// thousands of nodes.
//
// The rules, in order: never over-commit a node (slots and memory); put a
// task on a node that holds its input object when one has room (data
// locality: the program moves to the data); otherwise on the least loaded
// node with room (most free slots, then most free memory, then node id).
// The result depends only on the snapshot and the tasks, never on the
// order of the nodes in the snapshot or on map iteration.
//
// Cost: a call of up to 32 tasks scans the snapshot once per task (no
// allocation but the plan: ~15 µs a task at 5,000 nodes); a larger call
// indexes it once (an id table and a heap, ~0.5 ms at 5,000 nodes) and
// then places each task in about a microsecond. bench/scheduler measures
// both (BENCHMARKS.md).
package scheduler
