package app

import (
	"context"
	"time"
)

// sweeper is the node's background pruner of run records and finished
// jobs (Config.RecordRetention, Config.MaxRecordsPerAccount). One
// goroutine; Node.Close stops it and waits for it before the stores close.
type sweeper struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startSweeper sweeps once now, then every SweepInterval, until
// stopSweeper.
func (n *Node) startSweeper() {
	every := n.cfg.SweepInterval
	if every <= 0 {
		every = time.Hour
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.sweep = &sweeper{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(n.sweep.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			n.sweepOnce(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// stopSweeper cancels a sweep in progress and waits for the goroutine.
func (n *Node) stopSweeper() {
	if n.sweep != nil {
		n.sweep.cancel()
		<-n.sweep.done
	}
}

// sweepOnce prunes run records and finished jobs past the retention or
// the per-account cap; failures are logged and retried next time.
func (n *Node) sweepOnce(ctx context.Context) {
	if n.cfg.RecordRetention <= 0 && n.cfg.MaxRecordsPerAccount <= 0 {
		return
	}
	now := time.Now
	if n.cfg.Clock != nil {
		now = n.cfg.Clock
	}
	var cutoff time.Time
	if n.cfg.RecordRetention > 0 {
		cutoff = now().Add(-n.cfg.RecordRetention)
	}
	maxCount := max(n.cfg.MaxRecordsPerAccount, 0)
	runs, err := n.runs.Prune(ctx, cutoff, maxCount)
	if err != nil && ctx.Err() == nil {
		n.log.Warn("sweep: pruning run records", "err", err)
	}
	jobs, err := n.jobs.Prune(ctx, cutoff, maxCount)
	if err != nil && ctx.Err() == nil {
		n.log.Warn("sweep: pruning jobs", "err", err)
	}
	if runs+jobs > 0 {
		n.log.Info("sweep: pruned old records", "runs", runs, "jobs", jobs, "before", cutoff, "max_per_account", maxCount)
	}
}
