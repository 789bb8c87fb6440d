package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// RepairConfig tunes the repair pass. A pass walks everything the node
// holds, so an idle node does not run one on a timer: passes follow what
// can leave a replica missing or misplaced. A pass runs 2 s after the
// live set changes (a node down, back, joined or draining) and 2 s after
// any node asks for one (a write that missed a target, a corrupt copy
// dropped, a suspect peer answering again, a node's start); a pass that
// moved copies is followed by another 2 s later, and one that left keys
// short or met a target that did not answer by another after Every,
// until one finds nothing to do; and a full pass runs every FullEvery regardless, as the
// safety net (anti-entropy for what no event reported, such as a file
// lost on disk, and a tombstone's grace running out).
type RepairConfig struct {
	// Every is the wait before the next pass while the last one left
	// work. Default 10s.
	Every time.Duration
	// FullEvery is the longest wait between passes when nothing asks for
	// one. Default 10m.
	FullEvery time.Duration
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
	if cfg.FullEvery <= 0 {
		cfg.FullEvery = 10 * time.Minute
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

// repairSoon asks every node for a pass soon (a replica was found
// corrupt, a write missed a target, a suspect peer answers again): this
// node's own at once, the others' through the next heartbeat. It never
// blocks.
func (c *Cluster) repairSoon() {
	if c == nil || c.view == nil {
		return // not started (an engine under test)
	}
	c.view.setRepair(func(rs *RepairStats) { rs.Asked++ })
	if c.repair != nil {
		select {
		case c.repair.kick <- struct{}{}:
		default:
		}
	}
	c.Beat()
}

// Repair runs one pass now (tests and `cluster drain` use it).
func (c *Cluster) Repair(ctx context.Context) error {
	if c.repair == nil {
		return errors.New("cluster: repair not started")
	}
	_, err := c.repair.pass(ctx)
	return err
}

func (r *repairer) loop() {
	defer r.c.wg.Done()
	for {
		changed, asked := r.c.Changed(), r.c.Asked()
		st, err := r.pass(r.c.ctx)
		if err != nil && r.c.ctx.Err() == nil {
			r.c.log.Warn("repair pass failed", "err", err)
		}
		wait := r.cfg.FullEvery
		switch {
		case err != nil || st.unfixed > 0 || st.failed > 0:
			wait = r.cfg.Every // something did not answer: retry later
		case !st.clean():
			wait = settleWait // it moved copies: confirm soon
		}
		select {
		case <-r.c.ctx.Done():
			return
		case <-changed:
		case <-asked:
		case <-r.kick:
		case <-time.After(wait):
			continue
		}
		// let the membership settle (a joining node registers, a
		// restarted one comes back) and the asks gather before moving data
		select {
		case <-time.After(settleWait):
		case <-r.c.ctx.Done():
			return
		}
	}
}

// settleWait is the pause between an event and the pass it starts.
const settleWait = 2 * time.Second

// passStats accumulates one pass. failed counts keys left unsettled
// for a reason the counts above do not show (a target that did not
// answer, a push or pull or drop that failed).
type passStats struct {
	objects, under, unfixed, copied, dropped, failed int64
}

// clean reports whether the pass found nothing to do.
func (p *passStats) clean() bool {
	return p.unfixed == 0 && p.copied == 0 && p.dropped == 0 && p.failed == 0
}

func (p *passStats) add(o passStats) {
	p.objects += o.objects
	p.under += o.under
	p.unfixed += o.unfixed
	p.copied += o.copied
	p.dropped += o.dropped
	p.failed += o.failed
}

// pass walks every object and tombstone held here, then every noncurrent
// version and version tombstone (repair_versions.go), in batches, and
// returns what it did.
func (r *repairer) pass(ctx context.Context) (total passStats, err error) {
	var st passStats
	var batch []store.ObjectInfo
	flush := func(settle func(context.Context, []store.ObjectInfo, *passStats) error) error {
		err := settle(ctx, batch, &st)
		batch = batch[:0]
		total.copied, total.dropped = total.copied+st.copied, total.dropped+st.dropped
		r.publish(&st, false)
		return err
	}
	add := func(settle func(context.Context, []store.ObjectInfo, *passStats) error) func(store.ObjectInfo) error {
		return func(info store.ObjectInfo) error {
			if batch = append(batch, info); len(batch) >= r.cfg.Batch {
				return flush(settle)
			}
			return nil
		}
	}
	err = r.e.local.Walk(ctx, "", "", add(r.keyBatch))
	if err == nil {
		err = flush(r.keyBatch)
	}
	if err == nil {
		err = r.e.local.WalkVersions(ctx, add(r.versionBatch))
	}
	if err == nil {
		err = flush(r.versionBatch)
	}
	if err == nil {
		r.publish(&st, true)
	}
	total.unfixed, total.failed = st.unfixed, st.failed
	return total, err
}

// keyBatch settles a batch of keys (batch), then their latest versions
// as versions (a target whose latest is newer may still miss ours).
func (r *repairer) keyBatch(ctx context.Context, keys []store.ObjectInfo, st *passStats) error {
	var versions []store.ObjectInfo
	for _, info := range keys {
		if info.VersionID != "" && !info.Deleted {
			versions = append(versions, info)
		}
	}
	if err := r.batch(ctx, keys, st); err != nil {
		return err
	}
	return r.versionBatch(ctx, versions, st)
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
