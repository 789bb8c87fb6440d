package instances

import (
	"context"
	"time"
)

// reconcileLoop converges every instance of this node each
// ReconcileEvery (booting, stopping, forwards following rule changes
// made through any node) and sweeps expired terminated records. It runs
// until Close.
func (m *Manager) reconcileLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.ReconcileEvery)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		if err := m.reconcile(m.ctx); err != nil && m.ctx.Err() == nil {
			m.log.Warn("instances: reconcile", "err", err)
		}
	}
}

func (m *Manager) reconcile(ctx context.Context) error {
	recs, err := listRecords(ctx, m.kv, recordsPrefix)
	if err != nil {
		return err
	}
	for _, r := range recs {
		switch {
		case m.expired(r):
			m.sweep(ctx, r)
		case r.Node == m.cfg.Node && r.State != Terminated && r.State != Stopped:
			m.converge(r.Account, r.ID)
		}
	}
	return nil
}

// sweep deletes a terminated record past TerminatedTTL, its tags and its
// owner entry (every node may; the delete is a compare-and-swap).
func (m *Manager) sweep(ctx context.Context, r Record) {
	_, old, err := getRecord(ctx, m.kv, r.Account, r.ID)
	if err != nil {
		return
	}
	if err := m.kv.CompareAndSwap(ctx, recordKey(r.Account, r.ID), old, nil); err != nil {
		return
	}
	_ = m.cfg.Face.DropTags(ctx, r.Account, r.ID)
	_ = m.cfg.Face.SetOwner(ctx, r.ID, "")
	m.log.Info("instance: record swept", "instance", r.ID)
}
