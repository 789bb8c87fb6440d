package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/store"
)

// DefaultStreamTimeout is the wall-clock limit of a task after the first
// phase when the job sets none: such a task may wait on its inputs (it
// streams), so the app's usual limit for one object does not fit.
const DefaultStreamTimeout = 15 * time.Minute

// maxErrorStderr is how much of a failed task's stderr its error keeps.
const maxErrorStderr = 512

// launch places t and starts it on its own goroutine; the slot is held.
func (r *jobRun) launch(t *Task, streaming bool) {
	node := r.place(t, streaming, nil)
	r.s.busy.add(node, 1, r.s.cfg.Now())
	slot := newTaskSlot(r, node, streaming)
	ctx, cancel := context.WithCancel(r.ctx)
	r.mu.Lock()
	r.cancels[t] = cancel
	r.running[t.Phase]++
	t.Node, t.Started = node, r.s.cfg.Now().UTC()
	r.setStateLocked(t, Running)
	r.changedLocked()
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		r.finish(t, r.runTask(ctx, t, slot, streaming))
	}()
}

// outcome is how a task's last attempt ended.
type outcome struct {
	state    State
	err      string
	rec      *runs.Record
	stderr   string
	records  []string
	attempts int
}

// runTask runs t, first on the node slot counts it on, retrying
// infrastructure failures and, when the job asks, guest failures. A task
// whose node was lost (or failed it for want of infrastructure) is placed
// again without that node. Whatever slot still holds is given back when
// it returns.
func (r *jobRun) runTask(ctx context.Context, t *Task, slot *taskSlot, streaming bool) outcome {
	pl := &r.plans[t.Phase]
	defer slot.done()
	node := slot.node
	var o outcome
	infra, guest := 0, 0
	skip := map[string]bool{}
	for {
		o.attempts++
		rec, stderr, err := r.attempt(ctx, t, pl, node, slot.sandboxDone)
		if rec != nil {
			o.records = append(o.records, rec.ID)
		}
		o.rec, o.stderr = rec, stderr
		why, retry, wait := r.infraFailure(t, node, rec, err)
		switch {
		case ctx.Err() != nil:
			o.state, o.err = Cancelled, "cancelled: "+context.Cause(ctx).Error()
			return o
		case retry && infra < InfraRetries:
			infra++
			r.s.log.Warn("job task: infrastructure failure, retrying", "job", r.job.ID, "phase", t.Phase, "task", t.Index, "node", node, "err", why)
			if node != r.s.cfg.Node && !wait {
				skip[node] = true
			}
			if wait && !sleepCtx(ctx, time.Duration(infra)*infraBackoff) {
				continue // cancelled: the next round says so
			}
			if r.s.cfg.Cluster != nil {
				node = r.replace(t, slot, streaming, skip)
			}
			continue
		case err != nil:
			o.state, o.err = Failed, err.Error()
			return o
		case rec.OK():
			o.state, o.err = Succeeded, ""
			return o
		case rec.Status != sandbox.StatusError && guest < r.job.Spec.Retries:
			guest++
			continue
		}
		o.state, o.err = Failed, failureText(rec, stderr)
		return o
	}
}

// infraBackoff is the wait before retrying a task whose output could not
// be stored, times the retry's number (a replicated write may fail until
// a lost node is seen down).
const infraBackoff = 2 * time.Second

// infraFailure reports whether an attempt of t on node failed for want of
// infrastructure, and why: the remote node was lost or shutting down, the
// sandbox failed (sandbox.StatusError), or the guest succeeded but its
// output could not be stored (wait: retry after infraBackoff, anywhere).
func (r *jobRun) infraFailure(t *Task, node string, rec *runs.Record, err error) (why string, retry, wait bool) {
	remote := node != r.s.cfg.Node
	switch {
	case err != nil:
		lost := errors.Is(err, runs.ErrNodeLost) || errors.Is(err, runs.ErrShuttingDown)
		return err.Error(), remote && lost, false
	case rec.Status == sandbox.StatusError:
		return rec.Error, true, false
	case rec.OK() && !slices.Contains(rec.Outputs, r.outputRef(t.Phase, t.Index).String()):
		return "output not stored: " + rec.Error, true, true
	}
	return "", false, false
}

// replace places t again, without the nodes in skip, and moves its count.
func (r *jobRun) replace(t *Task, slot *taskSlot, streaming bool, skip map[string]bool) string {
	node := r.place(t, streaming, skip)
	slot.moveTo(node)
	r.mu.Lock()
	t.Node = node
	r.changedLocked()
	r.mu.Unlock()
	return node
}

// failureText says how a task's last run failed.
func failureText(rec *runs.Record, stderr string) string {
	var s string
	if rec.Status == sandbox.StatusExited {
		s = fmt.Sprintf("exited %d", rec.ExitCode)
	} else {
		s = string(rec.Status)
	}
	if rec.Error != "" && rec.Error != fmt.Sprintf("exit status %d", rec.ExitCode) {
		s += ": " + rec.Error
	}
	if tail := stderrTail(stderr); tail != "" {
		s += ": " + tail
	}
	return s
}

// sleepCtx waits d unless ctx ends first (then false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// attempt is one run of t on node; sandboxDone is called when the run
// leaves its sandbox here (see runs.Request.SandboxDone). A non-nil error
// means the run was refused, its stdin could not be read, or node was
// lost; the record says how a run ended.
func (r *jobRun) attempt(ctx context.Context, t *Task, pl *phasePlan, node string, sandboxDone func()) (*runs.Record, string, error) {
	out := r.outputRef(t.Phase, t.Index)
	req := runs.Request{
		SandboxDone: sandboxDone,
		Local:       true, Account: r.job.Account, Kind: "job", App: pl.App, Args: pl.Args, Env: pl.Env,
		StdoutObject: &out, Limits: pl.limits, KeepPartial: true, Inputs: pl.assetInputs(),
		OutputMeta: store.ObjectMeta{ContentType: "text/plain", User: map[string]string{"insitu-job": r.job.ID}},
	}
	var stdin *upstreamReader
	switch {
	case t.Phase == 0:
		in := r.inputs[t.Index]
		req.StdinObject = &in
		req.Inputs = append(req.Inputs, runs.InputSpec{Object: in, Path: path.Base(in.Key)})
	case pl.Type == Map:
		in := r.outs[t.Phase-1].obj[t.Index]
		req.StdinObject = &in
		req.Inputs = append(req.Inputs, runs.InputSpec{Object: in, Path: path.Base(in.Key)})
	default:
		actx, cancel := context.WithCancelCause(ctx)
		stdin = &upstreamReader{ctx: actx, engine: r.s.cfg.Engine, po: r.outs[t.Phase-1],
			idx: r.upstream(t.Phase, t.Index, len(r.tasks[t.Phase-1])), part: t.Index}
		defer func() {
			cancel(nil) // ends a Read still waiting on an upstream task or a peer
			stdin.Close()
		}()
		if pl.Partition {
			stdin.parts = pl.Reducers
		}
		req.Stdin = stdin
	}
	if t.Phase > 0 && req.Limits.Timeout == 0 {
		req.Limits.Timeout = DefaultStreamTimeout
	}
	var stderr bytes.Buffer
	req.Stderr = &stderr
	rec, err := r.run(ctx, node, req)
	if errors.Is(err, apps.ErrNoSuchApp) {
		// The app was removed (or hidden) after the job was submitted:
		// every task not started yet is refused; say which app.
		err = fmt.Errorf("app %s is gone (removed while the job ran): %w", pl.App, err)
	}
	if err != nil {
		return nil, stderr.String(), err
	}
	if stdin != nil {
		if ferr := stdin.failure(); ferr != nil {
			if errors.Is(ferr, errUpstreamFailed) || ctx.Err() != nil {
				return rec, stderr.String(), errUpstreamFailed
			}
			return rec, stderr.String(), fmt.Errorf("reading the previous phase's output: %w", ferr)
		}
	}
	return rec, stderr.String(), nil
}

// run executes req on node: here, or through the cluster.
func (r *jobRun) run(ctx context.Context, node string, req runs.Request) (*runs.Record, error) {
	if node == r.s.cfg.Node || r.s.cfg.Cluster == nil {
		return r.s.cfg.Runs.Run(ctx, req)
	}
	return r.s.cfg.Cluster.RunAt(ctx, node, req)
}

// stderrTail is the end of a task's stderr, on one line, for its error.
func stderrTail(s string) string {
	b := bytes.TrimSpace([]byte(s))
	if len(b) > maxErrorStderr {
		b = b[len(b)-maxErrorStderr:]
	}
	return string(bytes.Join(bytes.Fields(b), []byte(" ")))
}

// finish records t's outcome, feeds the next phase and, on failure,
// stops the phases after t's.
func (r *jobRun) finish(t *Task, o outcome) {
	var stderrObj string
	if o.stderr != "" {
		ref := runs.ObjectRef{Bucket: r.out.Bucket, Key: r.outputRef(t.Phase, t.Index).Key + ".stderr"}
		_, err := r.s.cfg.Engine.PutObject(context.WithoutCancel(r.ctx), ref.Bucket, ref.Key,
			bytes.NewReader([]byte(o.stderr)), int64(len(o.stderr)), store.PutOptions{Meta: store.ObjectMeta{ContentType: "text/plain"}})
		if err != nil {
			r.s.log.Error("store task stderr", "job", r.job.ID, "object", ref, "err", err)
		} else {
			stderrObj = ref.String()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.cancels, t)
	r.running[t.Phase]--
	r.inflight--
	t.Attempts += o.attempts
	t.Records = append(t.Records, o.records...)
	t.Error, t.Stderr, t.Ended = o.err, stderrObj, r.s.cfg.Now().UTC()
	if rec := o.rec; rec != nil {
		t.Status, t.ExitCode = string(rec.Status), rec.ExitCode
		t.BytesIn, t.BytesOut, t.StdoutBytes = rec.StdinBytes+rec.InputBytes, rec.StdoutBytes+rec.OutputBytes, rec.StdoutBytes
		out := r.outputRef(t.Phase, t.Index).String()
		for _, w := range rec.Outputs {
			if w == out {
				t.Output = out
			}
		}
		ph := &r.job.Phases[t.Phase]
		ph.BytesIn += t.BytesIn
		ph.BytesOut += t.BytesOut
		r.job.BytesIn += t.BytesIn
		r.job.BytesOut += t.BytesOut
	}
	if o.state == Failed && o.err == errUpstreamFailed.Error() {
		o.state = Cancelled // the upstream failure is the job's error
	}
	r.setStateLocked(t, o.state)
	r.outs[t.Phase].finish(t.Index, o.state == Succeeded)
	switch o.state {
	case Succeeded:
		r.feedLocked(t)
	case Failed:
		if len(r.job.Errors) < MaxSummaryErrors {
			r.job.Errors = append(r.job.Errors, t.taskError())
		}
		r.failLocked(t.Phase)
	}
	r.changedLocked()
}

// feedLocked makes the tasks that read t's output ready (or streamable).
func (r *jobRun) feedLocked(t *Task) {
	p := t.Phase + 1
	if p >= len(r.plans) || p > r.failAt {
		return
	}
	if r.plans[p].Type == Map {
		r.ready[p] = append(r.ready[p], t.Index)
		return
	}
	for _, red := range r.reducersOf(p, t.Index) {
		r.upDone[p][red]++
		if r.upDone[p][red] == r.upNeed[p][red] && !r.started[p][red] {
			r.ready[p] = append(r.ready[p], red)
		}
	}
}

// failLocked stops every phase after p: nothing more starts there and the
// tasks running there are cancelled. Phase p and the earlier ones finish,
// so their outputs are all kept.
func (r *jobRun) failLocked(p int) {
	if p >= r.failAt {
		return
	}
	r.failAt = p
	for q := p + 1; q < len(r.plans); q++ {
		r.ready[q] = nil
	}
	for t, cancel := range r.cancels {
		if t.Phase > p {
			cancel()
		}
	}
}
