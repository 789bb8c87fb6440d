package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store"
)

// ProgressKey is the meta key where a pass records how far it got, so a
// pass cut short by a restart resumes there instead of starting over.
const ProgressKey = "lifecycle-progress"

// BucketRules is one bucket's lifecycle configuration.
type BucketRules struct {
	Bucket string
	Rules  Rules
}

// Config configures a Runner.
type Config struct {
	// Engine holds the objects; it must implement store.Expirer (else the
	// runner expires nothing and says so once).
	Engine store.Engine
	// Configs returns every bucket's rules, in bucket name order.
	Configs func(ctx context.Context) ([]BucketRules, error)
	// KV keeps the pass's progress (ProgressKey).
	KV meta.Store
	// Now is the clock (default time.Now); tests move it forward.
	Now func() time.Time
	// PageSize is how many keys a listing page holds (default 1000); the
	// progress is saved after each page.
	PageSize int
	// Every is the time from the end of one pass to the start of the next
	// (default 1 hour). The first pass starts a minute after Start, or
	// Every after it when that is shorter.
	Every time.Duration
	// Elect, when set, makes Start's passes run only while this node
	// leads (a cluster: one runner at a time): it blocks until this node
	// is elected or ctx ends, and returns a context that ends when the
	// leadership is lost, and resign, called once when the runner stops
	// leading. A node that becomes leader runs its first pass at once
	// when a pass was cut short (by the leader before it, or here), from
	// the saved progress; else as Start's first. Nil: this node runs
	// every pass (a node alone). Pass itself never asks.
	Elect func(ctx context.Context) (context.Context, func(), error)
	// Logger defaults to discarding; Registerer, when set, receives the
	// runner's metrics (insitu_lifecycle_*).
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Runner applies every bucket's lifecycle rules in passes. Pass may be
// called directly; Start runs passes in a goroutine the Runner owns until
// Close. One pass runs at a time.
type Runner struct {
	cfg     Config
	exp     store.Expirer
	metrics *metrics
	passMu  sync.Mutex      // one pass at a time
	ctx     context.Context // cancelled by Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a Runner; it does nothing until Start or Pass.
func New(cfg Config) *Runner {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PageSize <= 0 || cfg.PageSize > 1000 {
		cfg.PageSize = 1000
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{cfg: cfg, metrics: newMetrics(cfg.Registerer)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.exp, _ = cfg.Engine.(store.Expirer)
	return r
}

// Start runs a pass a minute from now (cfg.Every if shorter) and then
// every cfg.Every after the previous one ended, until Close; with
// cfg.Elect, only while this node leads.
func (r *Runner) Start() {
	r.wg.Add(1)
	go r.loop(min(time.Minute, r.cfg.Every))
}

// electRetry is the wait before campaigning again after a failed try.
const electRetry = time.Second

func (r *Runner) loop(first time.Duration) {
	defer r.wg.Done()
	if r.cfg.Elect == nil {
		r.schedule(r.ctx, first)
		return
	}
	for r.ctx.Err() == nil {
		lctx, resign, err := r.cfg.Elect(r.ctx)
		if err != nil {
			if r.ctx.Err() == nil {
				r.cfg.Logger.Warn("lifecycle: campaigning to run the passes failed; trying again", "err", err)
				sleep(r.ctx, electRetry)
			}
			continue
		}
		wait := first
		if p, err := r.loadProgress(lctx); err == nil && p != (progress{}) {
			wait = 0 // a pass was cut short: resume it now
		}
		r.cfg.Logger.Info("lifecycle: this node leads and runs the passes", "first_in", wait)
		r.schedule(lctx, wait)
		resign()
	}
}

// schedule runs a pass after first and then cfg.Every after each one
// ended, until ctx ends.
func (r *Runner) schedule(ctx context.Context, first time.Duration) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn("lifecycle pass failed; the next one resumes where it stopped", "err", err)
		}
		t.Reset(r.cfg.Every)
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Close stops Start's goroutine, cancelling a pass in flight (its
// progress is kept), and waits for it. Idempotent.
func (r *Runner) Close() {
	r.cancel()
	r.wg.Wait()
}

// Stats counts what a pass did.
type Stats struct {
	// Expired counts current objects removed (or put behind a delete
	// marker), Versions noncurrent versions and delete markers removed,
	// Aborted uploads aborted, Locked versions due but kept by Object
	// Lock (retention or legal hold).
	Buckets, Expired, Versions, Aborted, Locked int
}

// Pass applies every bucket's rules once, at cfg.Now, resuming a pass
// that was cut short (its saved progress) and clearing the progress when
// done. A bucket that fails is reported (all failures joined) after the
// others have had their turn; a cancelled ctx stops the pass at once and
// keeps its progress.
func (r *Runner) Pass(ctx context.Context) (Stats, error) {
	r.passMu.Lock()
	defer r.passMu.Unlock()
	var st Stats
	if r.exp == nil {
		return st, errors.New("lifecycle: this engine cannot expire objects")
	}
	configs, err := r.cfg.Configs(ctx)
	if err != nil {
		return st, err
	}
	p, err := r.loadProgress(ctx)
	if err != nil {
		return st, err
	}
	if p != (progress{}) {
		r.cfg.Logger.Info("lifecycle: resuming a pass cut short", "bucket", p.Bucket, "phase", p.Phase, "after", p.After)
	}
	now := r.cfg.Now()
	var errs []error
	for _, bc := range configs {
		if p.Bucket != "" && bc.Bucket < p.Bucket {
			continue // done before the restart
		}
		err := r.bucketPass(ctx, bc, &p, now, &st)
		if ctx.Err() != nil {
			return st, ctx.Err() // stopping: the saved progress resumes it
		}
		if err != nil && !errors.Is(err, store.ErrNoSuchBucket) {
			// One bucket's failure does not hold up the others; it is
			// tried again from its start next pass.
			r.metrics.errors.Inc()
			errs = append(errs, fmt.Errorf("lifecycle: bucket %s: %w", bc.Bucket, err))
		}
		st.Buckets++
		p = progress{}
	}
	r.metrics.passes.Inc()
	r.metrics.lastEnd.Set(float64(r.cfg.Now().Unix()))
	return st, errors.Join(append(errs, r.saveProgress(ctx, progress{}))...)
}
