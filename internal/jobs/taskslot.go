package jobs

import "sync"

// CommittingPerSlot is Config.MaxCommitting's default per slot.
const CommittingPerSlot = 4

// taskSlot is what a running task holds: its slot in the node's pool and
// its count on the node it was placed on (the scheduler's view). A
// non-streaming task gives both back as soon as its run leaves the
// sandbox (runs.Request.SandboxDone), taking a commit token instead, so
// the next task runs while this one's output and record commit; the task
// still counts as running, and succeeds only once both are durable.
// Everything held is given back by done when the task ends. A retry
// after the slot was given back runs without one (the runs admission
// queue still bounds the sandboxes). Safe for concurrent use.
type taskSlot struct {
	r         *jobRun
	streaming bool

	mu     sync.Mutex
	node   string // where the task is counted busy
	held   bool   // the pool slot and the busy count
	commit bool   // a commit token (Service.committing)
}

func newTaskSlot(r *jobRun, node string, streaming bool) *taskSlot {
	return &taskSlot{r: r, streaming: streaming, node: node, held: true}
}

// moveTo counts the task on node instead (it is placed again).
func (ts *taskSlot) moveTo(node string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.held {
		ts.r.s.busy.add(ts.node, -1, ts.r.s.cfg.Now())
		ts.r.s.busy.add(node, 1, ts.r.s.cfg.Now())
	}
	ts.node = node
}

// sandboxDone trades the slot for a commit token, once; streaming tasks
// keep their slot (their budget is counted in slots). It may wait for a
// token while MaxCommitting tasks are committing, holding the slot.
func (ts *taskSlot) sandboxDone() {
	if ts.streaming {
		return
	}
	ts.mu.Lock()
	if !ts.held || ts.commit {
		ts.mu.Unlock()
		return
	}
	ts.mu.Unlock()
	ts.r.s.committing <- struct{}{}
	ts.mu.Lock()
	ts.commit = true
	ts.mu.Unlock()
	ts.release()
}

// release gives back the pool slot and the busy count, once.
func (ts *taskSlot) release() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if !ts.held {
		return
	}
	ts.held = false
	ts.r.s.busy.add(ts.node, -1, ts.r.s.cfg.Now())
	ts.r.s.pool.release(ts.r.job.Account, ts.streaming)
}

// done gives back everything still held: the task ended.
func (ts *taskSlot) done() {
	ts.release()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.commit {
		ts.commit = false
		<-ts.r.s.committing
	}
}
