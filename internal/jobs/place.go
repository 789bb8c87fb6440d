package jobs

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/scheduler"
)

// Cluster is what jobs need of a cluster (nil when the node is alone):
// the live nodes for the scheduler's snapshot, the holders of a task's
// input, and a way to run a task on another node. internal/app
// implements it; implementations are safe for concurrent use.
type Cluster interface {
	// Nodes lists the nodes that take work now (up, not draining) with
	// their capacity and use.
	Nodes() []NodeLoad
	// Holders names the reachable nodes holding bucket/key's newest copy.
	Holders(ctx context.Context, bucket, key string) ([]string, error)
	// RunAt executes req on node (see runs.Service.RunAt); a lost node is
	// runs.ErrNodeLost.
	RunAt(ctx context.Context, node string, req runs.Request) (*runs.Record, error)
}

// NodeLoad is one node as its membership record last reported it.
type NodeLoad struct {
	ID, Zone         string
	Slots, SlotsUsed int
	// FreeMemory is the memory still free on the node (0: not known).
	FreeMemory int64
}

// busyNodes counts the tasks of this Service running on each node, and
// remembers those that left a node in the last reportLag. The snapshot
// weighs a node's reported use (which lags by up to a heartbeat and a
// view refresh) against them: a report may still count a task that has
// ended, and it misses one started since. Safe for concurrent use.
type busyNodes struct {
	mu    sync.Mutex
	n     map[string]int
	ended map[string][]time.Time // node -> times tasks left it, oldest first
}

// reportLag bounds how stale a node's reported slot use can be: its
// heartbeat is written within a second of a change and read within a
// second more.
const reportLag = 3 * time.Second

// add counts d more tasks on node at now; a negative d records the
// tasks' departure.
func (b *busyNodes) add(node string, d int, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == nil {
		b.n, b.ended = map[string]int{}, map[string][]time.Time{}
	}
	if b.n[node] += d; b.n[node] <= 0 {
		delete(b.n, node)
	}
	for ; d < 0; d++ {
		b.ended[node] = append(b.ended[node], now)
	}
	b.pruneLocked(node, now)
}

// get returns the tasks running on node and those that left it within
// reportLag of now.
func (b *busyNodes) get(node string, now time.Time) (running, recent int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked(node, now)
	return b.n[node], len(b.ended[node])
}

// pruneLocked forgets node's departures older than reportLag.
func (b *busyNodes) pruneLocked(node string, now time.Time) {
	ends := b.ended[node]
	i := 0
	for i < len(ends) && now.Sub(ends[i]) > reportLag {
		i++
	}
	if ends = ends[i:]; len(ends) == 0 {
		delete(b.ended, node)
	} else {
		b.ended[node] = ends
	}
}

// freeSlots is a node's free slots as this Service sees them: the use it
// reported, less this Service's tasks that left it since (they may still
// be in the report), and never less than this Service's own tasks there.
func (b *busyNodes) freeSlots(n NodeLoad, now time.Time) int {
	running, recent := b.get(n.ID, now)
	return max(n.Slots-max(n.SlotsUsed-recent, running), 0)
}

// clusterSlots is the run slots of the nodes taking work, at least 1.
func (s *Service) clusterSlots() int {
	total := 0
	for _, n := range s.cfg.Cluster.Nodes() {
		total += n.Slots
	}
	return max(total, 1)
}

// snapshot is the scheduler's view of the nodes taking work, minus skip:
// free slots as busyNodes.freeSlots weighs them.
func (s *Service) snapshot(skip map[string]bool) scheduler.Snapshot {
	snap := scheduler.Snapshot{Now: s.cfg.Now()}
	for _, n := range s.cfg.Cluster.Nodes() {
		if skip[n.ID] {
			continue
		}
		free := s.busy.freeSlots(n, snap.Now)
		snap.Nodes = append(snap.Nodes, scheduler.Node{ID: n.ID, Zone: n.Zone, FreeSlots: free, FreeMemory: max(n.FreeMemory, 0)})
	}
	return snap
}

// mapInput is the object map task t reads (nil for a reducer).
func (r *jobRun) mapInput(t *Task) *runs.ObjectRef {
	switch {
	case t.Phase == 0:
		return &r.inputs[t.Index]
	case r.plans[t.Phase].Type == Map:
		return &r.outs[t.Phase-1].obj[t.Index]
	}
	return nil
}

// place asks the scheduler where t runs, never on a node in skip. Alone,
// that is this node. In a cluster the snapshot is the live nodes: a map
// task goes to a holder of its input with room, else waits in the queue
// of the least loaded holder (the program moves to the data, not the
// data to the program); a reducer goes to the least loaded node with
// room, else here. A streaming reducer runs here: its stdin waits on
// this node's view of the job.
func (r *jobRun) place(t *Task, streaming bool, skip map[string]bool) string {
	self, c := r.s.cfg.Node, r.s.cfg.Cluster
	st := scheduler.Task{ID: fmt.Sprintf("%d/%d", t.Phase, t.Index)}
	if c == nil {
		if r.mapInput(t) != nil {
			st.Holders = []string{self}
		}
		return assigned(scheduler.Place(scheduler.Snapshot{Now: r.s.cfg.Now(),
			Nodes: []scheduler.Node{{ID: self, FreeSlots: max(r.s.pool.free(), 1)}}}, []scheduler.Task{st}), self)
	}
	if streaming && !skip[self] {
		return self
	}
	if in := r.mapInput(t); in != nil {
		hs, err := c.Holders(r.ctx, in.Bucket, in.Key)
		if err != nil {
			r.s.log.Warn("job task: input holders", "job", r.job.ID, "input", in.String(), "err", err)
		}
		st.Holders = slices.DeleteFunc(hs, func(h string) bool { return skip[h] })
	}
	snap := r.s.snapshot(skip)
	plan := scheduler.Place(snap, []scheduler.Task{st})
	if len(plan.Assignments) == 1 && (plan.Assignments[0].Local || len(st.Holders) == 0) {
		return plan.Assignments[0].Node
	}
	if len(st.Holders) == 0 {
		return self
	}
	// Every holder is full: queue at the least loaded one.
	var holders []scheduler.Node
	for _, n := range snap.Nodes {
		if slices.Contains(st.Holders, n.ID) {
			n.FreeSlots = max(n.FreeSlots, 1)
			holders = append(holders, n)
		}
	}
	snap.Nodes = holders
	return assigned(scheduler.Place(snap, []scheduler.Task{st}), st.Holders[0])
}

// assigned is the plan's node for its one task, or def when unplaced.
func assigned(p scheduler.Plan, def string) string {
	if len(p.Assignments) == 1 {
		return p.Assignments[0].Node
	}
	return def
}
