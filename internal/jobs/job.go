package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/runs"
)

// jobRun is a job executing on this node. Its dispatcher (execute) starts
// tasks as they become ready and slots allow; each task runs on its own
// goroutine and reports back under mu.
type jobRun struct {
	s      *Service
	ctx    context.Context
	cancel context.CancelCauseFunc
	plans  []phasePlan
	inputs []runs.ObjectRef
	out    runs.ObjectRef

	mu       sync.Mutex
	job      Job
	tasks    [][]*Task
	outs     []*phaseOutputs
	ready    [][]int // per phase, tasks whose inputs are all done
	started  [][]bool
	upDone   [][]int // per reduce task, upstream tasks done
	upNeed   [][]int
	running  []int // per phase
	cancels  map[*Task]context.CancelFunc
	failAt   int // the first phase with a failed task; len(plans) if none
	inflight int
	dirty    map[[2]int]bool // chunks to write
	subs     map[chan struct{}]struct{}
	wake     chan struct{}
	finished chan struct{}
	flushMu  sync.Mutex
	wg       sync.WaitGroup
	// saved is set once the final state has been written: until then
	// snapshot reports an ended job as still running, so no watcher is
	// told it ended before a restart would find it so.
	saved bool
}

func newJobRun(s *Service, account, id string, spec Spec, plans []phasePlan, inputs []runs.ObjectRef, out runs.ObjectRef) *jobRun {
	r := &jobRun{s: s, plans: plans, inputs: inputs, out: out,
		cancels: map[*Task]context.CancelFunc{}, failAt: len(plans), dirty: map[[2]int]bool{},
		subs: map[chan struct{}]struct{}{}, wake: make(chan struct{}, 1), finished: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancelCause(context.Background())
	r.job = Job{ID: id, Account: account, State: Queued, Spec: spec, Out: out.String(), Created: s.cfg.Now().UTC()}
	n := len(inputs)
	for p, pl := range plans {
		if pl.Type == Reduce {
			n = pl.Reducers
		}
		tasks := make([]*Task, n)
		for i := range tasks {
			tasks[i] = &Task{Phase: p, Index: i, State: Pending}
			if p == 0 {
				tasks[i].Input = inputs[i].String()
			}
			r.dirty[[2]int{p, i / chunkSize}] = true
		}
		r.tasks = append(r.tasks, tasks)
		r.outs = append(r.outs, newPhaseOutputs(n, func(i int) runs.ObjectRef { return r.outputRef(p, i) }))
		r.ready = append(r.ready, nil)
		r.started = append(r.started, make([]bool, n))
		r.upDone = append(r.upDone, make([]int, n))
		r.upNeed = append(r.upNeed, make([]int, n))
		r.running = append(r.running, 0)
		r.job.Phases = append(r.job.Phases, PhaseStatus{Type: pl.Type, App: pl.App, Tasks: n, Pending: n})
	}
	// Phase 0 is ready at once; a reduce task needs its upstream range.
	r.ready[0] = make([]int, len(inputs))
	for i := range inputs {
		r.ready[0][i] = i
	}
	for p := 1; p < len(plans); p++ {
		if plans[p].Type != Reduce {
			continue
		}
		up := len(r.tasks[p-1])
		for t := range r.tasks[p] {
			r.upNeed[p][t] = len(r.upstream(p, t, up))
			if r.upNeed[p][t] == 0 {
				r.ready[p] = append(r.ready[p], t)
			}
		}
	}
	return r
}

// outputRef is where task i of phase p writes its stdout.
func (r *jobRun) outputRef(p, i int) runs.ObjectRef {
	return runs.ObjectRef{Bucket: r.out.Bucket, Key: fmt.Sprintf("%s%d/%06d", r.out.Key, p, i)}
}

// upstream lists the tasks of phase p-1 (of up tasks) that reduce task t
// of phase p reads, in order: all of them when partitioned, else its
// contiguous share.
func (r *jobRun) upstream(p, t, up int) []int {
	pl := r.plans[p]
	lo, hi := 0, up
	if !pl.Partition {
		lo, hi = t*up/pl.Reducers, (t+1)*up/pl.Reducers
	}
	idx := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		idx = append(idx, i)
	}
	return idx
}

// reducersOf returns the reduce tasks of phase p that read upstream task i.
func (r *jobRun) reducersOf(p, i int) []int {
	pl := r.plans[p]
	up := len(r.tasks[p-1])
	if pl.Partition {
		all := make([]int, pl.Reducers)
		for t := range all {
			all[t] = t
		}
		return all
	}
	for t := range pl.Reducers {
		if t*up/pl.Reducers <= i && i < (t+1)*up/pl.Reducers {
			return []int{t}
		}
	}
	return nil
}

// snapshot copies the summary; a job whose end is not written yet is
// still running.
func (r *jobRun) snapshot() Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	j := r.job
	if j.State.Done() && !r.saved {
		j.State, j.Error, j.Ended = Running, "", time.Time{}
	}
	j.Phases = append([]PhaseStatus(nil), j.Phases...)
	j.Errors = append([]TaskError(nil), j.Errors...)
	return j
}

func (r *jobRun) taskList() []Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Task
	for _, ts := range r.tasks {
		for _, t := range ts {
			out = append(out, *t)
		}
	}
	return out
}

func (r *jobRun) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	r.mu.Lock()
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	return ch, func() {
		r.mu.Lock()
		delete(r.subs, ch)
		r.mu.Unlock()
	}
}

// changedLocked notes a change for the watchers and the flusher.
func (r *jobRun) changedLocked() {
	for ch := range r.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// setStateLocked moves task t to state st, keeping the counts.
func (r *jobRun) setStateLocked(t *Task, st State) {
	ph := &r.job.Phases[t.Phase]
	count := func(s State) *int {
		switch s {
		case Pending:
			return &ph.Pending
		case Running:
			return &ph.Running
		case Succeeded:
			return &ph.Succeeded
		case Failed:
			return &ph.Failed
		default:
			return &ph.Cancelled
		}
	}
	*count(t.State)--
	*count(st)++
	t.State = st
	r.dirty[[2]int{t.Phase, t.Index / chunkSize}] = true
}

// execute runs the job to its end.
func (r *jobRun) execute() {
	defer close(r.finished)
	stopFlusher := r.startFlusher()
	r.mu.Lock()
	r.job.State, r.job.Started = Running, r.s.cfg.Now().UTC()
	r.changedLocked()
	r.mu.Unlock()
	r.s.log.Info("job started", "account", r.job.Account, "job", r.job.ID, "inputs", len(r.inputs), "phases", len(r.plans))

	r.dispatch()
	r.wg.Wait() // every task goroutine has reported

	r.mu.Lock()
	for _, ts := range r.tasks {
		for _, t := range ts {
			if !t.State.Done() {
				r.setStateLocked(t, Cancelled)
			}
		}
	}
	failed := 0
	for _, ph := range r.job.Phases {
		failed += ph.Failed
	}
	cause := context.Cause(r.ctx)
	switch {
	case cause != nil && failed == 0 && errors.Is(cause, errCancelled):
		r.job.State, r.job.Error = Cancelled, "cancelled"
	case cause != nil && failed == 0:
		r.job.State, r.job.Error = Failed, cause.Error()
	case failed > 0:
		r.job.State = Failed
		r.job.Error = fmt.Sprintf("%d task(s) failed", failed)
		if len(r.job.Errors) > 0 {
			e := r.job.Errors[0]
			r.job.Error += fmt.Sprintf("; first: phase %d task %d: %s", e.Phase, e.Index, e.Error)
		}
	default:
		r.job.State = Succeeded
	}
	r.job.Ended = r.s.cfg.Now().UTC()
	state := r.job.State
	r.mu.Unlock()
	r.cancel(nil)
	stopFlusher()
	if err := r.flush(context.Background()); err != nil {
		r.s.log.Error("save job", "job", r.job.ID, "err", err)
	}
	r.mu.Lock()
	r.saved = true
	r.changedLocked()
	r.mu.Unlock()
	r.s.log.Info("job ended", "account", r.job.Account, "job", r.job.ID, "state", state)
}

// dispatch starts tasks until none is left to start or the job is
// cancelled.
func (r *jobRun) dispatch() {
	for {
		r.mu.Lock()
		t, streaming, idle := r.pickLocked()
		r.mu.Unlock()
		if idle {
			return
		}
		if t == nil {
			select {
			case <-r.wake:
				continue
			case <-r.ctx.Done():
				return
			}
		}
		if !streaming {
			if r.s.cfg.Cluster != nil {
				r.s.pool.resize(r.s.clusterSlots())
			}
			if err := r.s.pool.acquire(r.ctx, r.job.Account); err != nil {
				r.mu.Lock()
				r.unpickLocked(t)
				r.mu.Unlock()
				return
			}
			r.mu.Lock()
			if t.Phase > r.failAt || r.ctx.Err() != nil {
				// The job started failing while this task waited.
				r.unpickLocked(t)
				r.mu.Unlock()
				r.s.pool.release(r.job.Account, false)
				continue
			}
			r.mu.Unlock()
		}
		r.launch(t, streaming)
	}
}

// pickLocked chooses the next task: a ready task of the latest phase
// first (it drains the pipeline), else a reduce task that can start
// streaming while its inputs complete. idle reports that nothing is
// running and nothing can start: the job is over.
func (r *jobRun) pickLocked() (t *Task, streaming, idle bool) {
	if r.ctx.Err() != nil {
		return nil, false, true
	}
	for p := min(len(r.plans)-1, r.failAt); p >= 0; p-- {
		if len(r.ready[p]) == 0 || !r.roomLocked(p) {
			continue
		}
		i := r.ready[p][0]
		r.ready[p] = r.ready[p][1:]
		if r.started[p][i] {
			continue
		}
		r.started[p][i] = true
		r.inflight++
		return r.tasks[p][i], false, false
	}
	for p := 1; p < len(r.plans) && p <= r.failAt; p++ {
		if r.plans[p].Type != Reduce || !r.roomLocked(p) {
			continue
		}
		for i, need := range r.upNeed[p] {
			if r.started[p][i] || r.upDone[p][i] == 0 || r.upDone[p][i] == need {
				continue
			}
			if !r.s.pool.tryAcquireStreaming(r.job.Account) {
				break
			}
			r.started[p][i] = true
			r.inflight++
			return r.tasks[p][i], true, false
		}
	}
	return nil, false, r.inflight == 0
}

// unpickLocked undoes pickLocked for a task that will not start now.
func (r *jobRun) unpickLocked(t *Task) {
	r.inflight--
	r.started[t.Phase][t.Index] = false
	r.ready[t.Phase] = append([]int{t.Index}, r.ready[t.Phase]...)
}

// roomLocked reports whether phase p may start one more task.
func (r *jobRun) roomLocked(p int) bool {
	c := r.plans[p].Concurrency
	return c <= 0 || r.running[p] < c
}

// startFlusher writes changed state every FlushInterval until stopped.
func (r *jobRun) startFlusher() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.s.cfg.FlushInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := r.flush(context.Background()); err != nil {
					r.s.log.Error("save job", "job", r.job.ID, "err", err)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// flush writes the summary and the task chunks changed since the last
// flush, in as few synced meta batches as the bounds allow (batchLen:
// usually one), the summary in the last one.
func (r *jobRun) flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	var writes []meta.Pair
	for c := range r.dirty {
		p, chunk := c[0], c[1]
		ts := r.tasks[p][chunk*chunkSize : min((chunk+1)*chunkSize, len(r.tasks[p]))]
		b, err := json.Marshal(ts)
		if err != nil {
			r.mu.Unlock()
			return err
		}
		writes = append(writes, meta.Pair{Key: chunkKey(r.job.Account, r.job.ID, p, chunk), Value: b})
	}
	clear(r.dirty)
	b, err := json.Marshal(r.job)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	writes = append(writes, meta.Pair{Key: jobKey(r.job.Account, r.job.ID), Value: b})
	for len(writes) > 0 {
		n := batchLen(writes)
		if err := r.s.cfg.KV.PutBatch(ctx, writes[:n]); err != nil {
			return err
		}
		writes = writes[n:]
	}
	return nil
}

// maxFlushBytes bounds one flush batch (etcd takes requests of up to 1.5
// MiB by default); a larger chunk goes alone.
const maxFlushBytes = 1 << 20

// batchLen is how many of writes (at least one) the next batch takes:
// at most meta.MaxBatch pairs and maxFlushBytes bytes.
func batchLen(writes []meta.Pair) int {
	n, size := 0, 0
	for n < len(writes) && n < meta.MaxBatch {
		size += len(writes[n].Key) + len(writes[n].Value)
		if n > 0 && size > maxFlushBytes {
			break
		}
		n++
	}
	return n
}
