package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// RepairConfig tunes the repair pass.
type RepairConfig struct {
	// Every is the longest wait between passes; a change of the live set
	// or a replica found corrupt starts one sooner. Default 10s.
	Every time.Duration
	// TombstoneGrace is how long a delete's tombstone is kept after every
	// target holds it, so a node that was away cannot bring the object
	// back. Default 1h.
	TombstoneGrace time.Duration
	// Batch is how many local keys one round of lookups covers. Default 256.
	Batch int
}

// repairer runs this node's repair passes; its goroutine is owned by the
// Cluster and stops at Close.
type repairer struct {
	c    *Cluster
	e    *Engine
	cfg  RepairConfig
	kick chan struct{}
}

// StartRepair starts the background repair of the objects this node
// holds.
func (c *Cluster) StartRepair(e *Engine, cfg RepairConfig) {
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Second
	}
	if cfg.TombstoneGrace <= 0 {
		cfg.TombstoneGrace = time.Hour
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	c.repair = &repairer{c: c, e: e, cfg: cfg, kick: make(chan struct{}, 1)}
	c.wg.Add(1)
	go c.repair.loop()
}

// repairSoon asks for a pass soon (a replica was found corrupt).
func (c *Cluster) repairSoon(bucket, key string) {
	if c.repair != nil {
		select {
		case c.repair.kick <- struct{}{}:
		default:
		}
	}
}

// Repair runs one pass now (tests and `cluster drain` use it).
func (c *Cluster) Repair(ctx context.Context) error {
	if c.repair == nil {
		return errors.New("cluster: repair not started")
	}
	return c.repair.pass(ctx)
}

func (r *repairer) loop() {
	defer r.c.wg.Done()
	for {
		changed := r.c.Changed()
		if err := r.pass(r.c.ctx); err != nil && r.c.ctx.Err() == nil {
			r.c.log.Warn("repair pass failed", "err", err)
		}
		select {
		case <-r.c.ctx.Done():
			return
		case <-changed:
			// let the membership settle (a joining node registers, a
			// restarted one comes back) before moving data
			select {
			case <-time.After(2 * time.Second):
			case <-r.c.ctx.Done():
				return
			}
		case <-r.kick:
		case <-time.After(r.cfg.Every):
		}
	}
}

// passStats accumulates one pass.
type passStats struct {
	objects, under, unfixed, copied, dropped int64
}

func (p *passStats) add(o passStats) {
	p.objects += o.objects
	p.under += o.under
	p.unfixed += o.unfixed
	p.copied += o.copied
	p.dropped += o.dropped
}

// pass walks every object and tombstone held here, in batches.
func (r *repairer) pass(ctx context.Context) error {
	var st passStats
	var batch []store.ObjectInfo
	flush := func() error {
		err := r.batch(ctx, batch, &st)
		batch = batch[:0]
		r.publish(&st, false)
		return err
	}
	err := r.e.local.Walk(ctx, "", "", func(info store.ObjectInfo) error {
		if batch = append(batch, info); len(batch) >= r.cfg.Batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		r.publish(&st, true)
	}
	return err
}

// publish puts the pass's progress into the node's heartbeat. While a
// pass runs, under_replicated shows the larger of the last pass's count
// and this one's so far.
func (r *repairer) publish(st *passStats, done bool) {
	r.c.view.setRepair(func(rs *RepairStats) {
		rs.Copied += st.copied
		rs.Dropped += st.dropped
		if done {
			rs.Passes++
			rs.LastPass = time.Now().UTC()
			rs.Objects, rs.UnderReplicated = st.objects, st.unfixed
		} else {
			rs.UnderReplicated = max(rs.UnderReplicated, st.unfixed)
		}
	})
	st.copied, st.dropped = 0, 0
}
