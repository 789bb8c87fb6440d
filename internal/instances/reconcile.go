package instances

import (
	"context"
	"encoding/json"
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

// sweep deletes a terminated record past TerminatedTTL, its tags, its
// owner entry and its client token (every node may; the delete is a
// compare-and-swap).
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
	m.dropToken(ctx, r)
	m.log.Info("instance: record swept", "instance", r.ID)
}

// dropToken forgets the client token that launched r, if it still names
// r's reservation (a retry after this launches afresh).
func (m *Manager) dropToken(ctx context.Context, r Record) {
	if r.ClientToken == "" {
		return
	}
	key := tokenKey(r.Account, r.ClientToken)
	b, err := m.kv.Get(ctx, key)
	if err != nil {
		return
	}
	var t tokenRecord
	if json.Unmarshal(b, &t) == nil && t.Reservation == r.Reservation {
		_ = m.kv.CompareAndSwap(ctx, key, b, nil)
	}
}
