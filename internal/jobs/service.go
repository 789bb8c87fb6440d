package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
)

// Errors of the Service.
var (
	ErrNoSuchJob = errors.New("jobs: no such job")
	ErrClosed    = errors.New("jobs: service closed")
	// ErrTooManyJobs means the account already has MaxActivePerAccount
	// jobs queued or running.
	ErrTooManyJobs = errors.New("jobs: too many jobs running for this account; retry when one ends")
)

// errShutdown cancels the jobs running when the node stops.
var errShutdown = errors.New("interrupted: the node shut down")

// Runner runs one task; *runs.Service implements it.
type Runner interface {
	Run(ctx context.Context, req runs.Request) (*runs.Record, error)
	Check(ctx context.Context, req runs.Request) error
}

// Config wires a Service.
type Config struct {
	Runs   Runner
	Engine store.Engine
	KV     meta.Store
	// Node names this node to the scheduler and in task states. Default
	// "local".
	Node string
	// Slots is how many job runs execute at once on this node, shared by
	// every job; use the sandbox's worker count. Default 1.
	Slots int
	// MaxActivePerAccount caps one account's jobs queued or running on
	// this node; past it Submit answers ErrTooManyJobs. Default 16.
	MaxActivePerAccount int
	// FlushInterval is the longest a finished task waits before its state
	// is written to meta. Default 500ms.
	FlushInterval time.Duration
	Logger        *slog.Logger
	// Now returns the time; default time.Now.
	Now func() time.Time
	// MaxCommitting bounds the tasks on this node whose run has left the
	// sandbox and given its slot to the next task while their output and
	// record commit; past it a task keeps its slot until one is done.
	// Default CommittingPerSlot times Slots.
	MaxCommitting int
	// Cluster, when set, places tasks over the cluster's live nodes and
	// runs them there (see place); the slot pool then grows to the
	// slots of the nodes taking work. Nil when the node is alone.
	Cluster Cluster
}

// Service runs jobs.
type Service struct {
	cfg    Config
	log    *slog.Logger
	pool   *slotPool
	busy   busyNodes
	mu     sync.Mutex
	active map[string]*jobRun // account/id
	// committing holds a token per task committing off its slot.
	committing chan struct{}
	closed     bool
	wg         sync.WaitGroup
}

// New returns a Service. Jobs a previous process left queued or running
// are marked failed ("interrupted") now.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Node == "" {
		cfg.Node = "local"
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 500 * time.Millisecond
	}
	if cfg.MaxActivePerAccount <= 0 {
		cfg.MaxActivePerAccount = 16
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxCommitting <= 0 {
		cfg.MaxCommitting = CommittingPerSlot * max(cfg.Slots, 1)
	}
	s := &Service{cfg: cfg, log: cfg.Logger, pool: newSlotPool(cfg.Slots), active: map[string]*jobRun{},
		committing: make(chan struct{}, cfg.MaxCommitting)}
	if err := s.recover(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Close cancels the running jobs (they end failed, "interrupted"), waits
// for their runs to stop and their state to be written. It is idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	runs := make([]*jobRun, 0, len(s.active))
	for _, r := range s.active {
		runs = append(runs, r)
	}
	s.mu.Unlock()
	for _, r := range runs {
		r.cancel(errShutdown)
	}
	s.wg.Wait()
	return nil
}

func activeKey(account, id string) string { return account + "/" + id }

// activeLocked counts account's jobs queued or running. s.mu is held.
func (s *Service) activeLocked(account string) int {
	n := 0
	for k := range s.active {
		if strings.HasPrefix(k, account+"/") {
			n++
		}
	}
	return n
}

// lookup returns the running job, or nil.
func (s *Service) lookup(account, id string) *jobRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active[activeKey(account, id)]
}

// Get returns account's job id.
func (s *Service) Get(ctx context.Context, account, id string) (*Job, error) {
	if r := s.lookup(account, id); r != nil {
		j := r.snapshot()
		return &j, nil
	}
	return s.loadJob(ctx, account, id)
}

// Tasks returns every task of the job, phase by phase in task order.
func (s *Service) Tasks(ctx context.Context, account, id string) ([]Task, error) {
	if r := s.lookup(account, id); r != nil {
		return r.taskList(), nil
	}
	if _, err := s.loadJob(ctx, account, id); err != nil {
		return nil, err
	}
	return s.loadTasks(ctx, account, id)
}

// Outputs lists the output objects of a phase (phase < 0: the last) in
// task order, with the state of the task that wrote each.
func (s *Service) Outputs(ctx context.Context, account, id string, phase int) ([]Output, error) {
	j, err := s.Get(ctx, account, id)
	if err != nil {
		return nil, err
	}
	if phase < 0 {
		phase = len(j.Phases) - 1
	}
	if phase >= len(j.Phases) {
		return nil, bad("the job has %d phases", len(j.Phases))
	}
	tasks, err := s.Tasks(ctx, account, id)
	if err != nil {
		return nil, err
	}
	out := []Output{}
	for _, t := range tasks {
		if t.Phase == phase && t.Output != "" {
			out = append(out, Output{Phase: t.Phase, Index: t.Index, State: t.State, Object: t.Output, Size: t.StdoutBytes})
		}
	}
	return out, nil
}

// Errors lists the failed tasks of a job.
func (s *Service) Errors(ctx context.Context, account, id string) ([]TaskError, error) {
	tasks, err := s.Tasks(ctx, account, id)
	if err != nil {
		return nil, err
	}
	out := []TaskError{}
	for i := range tasks {
		if tasks[i].State == Failed {
			out = append(out, tasks[i].taskError())
		}
	}
	return out, nil
}

// Cancel stops a job: runs in flight are killed, nothing more starts, and
// the job ends cancelled. Cancelling a finished job changes nothing.
func (s *Service) Cancel(ctx context.Context, account, id string) (*Job, error) {
	if r := s.lookup(account, id); r != nil {
		r.cancel(errCancelled)
		select {
		case <-r.finished:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Get(ctx, account, id)
}

var errCancelled = errors.New("cancelled")

// Watch calls fn with the job's state now and after changes (at most every
// interval), until the job ends (fn then sees its final state) or ctx is
// done. An error from fn ends the watch.
func (s *Service) Watch(ctx context.Context, account, id string, interval time.Duration, fn func(Job) error) error {
	r := s.lookup(account, id)
	if r == nil {
		j, err := s.loadJob(ctx, account, id)
		if err != nil {
			return err
		}
		return fn(*j)
	}
	ch, unsub := r.subscribe()
	defer unsub()
	for {
		j := r.snapshot()
		if err := fn(j); err != nil || j.State.Done() {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.finished:
		case <-ch:
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.finished:
		case <-time.After(interval):
		}
	}
}

// Submit checks spec for account, expands its inputs and starts the job.
// Nothing runs unless account owns every input bucket, the output bucket
// and every asset's bucket, and every phase's app resolves.
func (s *Service) Submit(ctx context.Context, account string, spec Spec) (*Job, error) {
	plans, err := spec.validate()
	if err != nil {
		return nil, err
	}
	for i := range spec.Phases {
		spec.Phases[i] = plans[i].Phase
	}
	id := runs.NewID()
	out, err := s.outPrefix(spec, id)
	if err != nil {
		return nil, err
	}
	// Authorization before anything is listed or run.
	buckets := []string{out.Bucket}
	for _, in := range spec.Inputs {
		ref, err := runs.ParseS3URL(in)
		if err != nil {
			return nil, err
		}
		buckets = append(buckets, ref.Bucket)
	}
	if err := s.checkOwner(ctx, account, buckets); err != nil {
		return nil, err
	}
	for i, p := range plans {
		req := runs.Request{Account: account, App: p.App, OutPrefix: &out, Inputs: p.assetInputs()}
		if err := s.cfg.Runs.Check(ctx, req); err != nil {
			return nil, fmt.Errorf("phase %d (%s): %w", i, p.App, err)
		}
	}
	inputs, err := expandInputs(ctx, s.cfg.Engine, spec.Inputs)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.activeLocked(account) >= s.cfg.MaxActivePerAccount {
		return nil, ErrTooManyJobs
	}
	r := newJobRun(s, account, id, spec, plans, inputs, out)
	if err := r.flush(ctx); err != nil {
		return nil, err
	}
	s.active[activeKey(account, id)] = r
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		r.execute()
		s.mu.Lock()
		delete(s.active, activeKey(account, id))
		s.mu.Unlock()
	}()
	j := r.snapshot()
	return &j, nil
}

// outPrefix is the job's output prefix: the one asked for, or a per-job
// prefix in the first input's bucket.
func (s *Service) outPrefix(spec Spec, id string) (runs.ObjectRef, error) {
	if spec.Out == "" {
		first, err := runs.ParseS3URL(spec.Inputs[0])
		if err != nil {
			return runs.ObjectRef{}, err
		}
		return runs.ObjectRef{Bucket: first.Bucket, Key: DefaultOutDir + id + "/"}, nil
	}
	out, err := runs.ParseS3URL(spec.Out)
	if err != nil {
		return out, err
	}
	if out.Key != "" && !strings.HasSuffix(out.Key, "/") {
		out.Key += "/"
	}
	return out, nil
}

// checkOwner refuses unless the account (an id) owns every bucket.
func (s *Service) checkOwner(ctx context.Context, account string, buckets []string) error {
	seen := map[string]bool{}
	for _, b := range buckets {
		if seen[b] {
			continue
		}
		seen[b] = true
		err := auth.OwnsBucket(ctx, s.cfg.Engine, account, b)
		if errors.Is(err, auth.ErrNotOwner) {
			return fmt.Errorf("%w: bucket %s", runs.ErrAccessDenied, b)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
