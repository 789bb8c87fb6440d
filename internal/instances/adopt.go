package instances

import (
	"context"
	"errors"
	"time"
)

// adoptAll reattaches, at start, to the machines of this node's
// instances that outlived the last process (pending, running, stopping,
// shutting-down): adopted ones go on (running ones get their metadata
// server and forwards again, the others finish their stop or
// termination); running or stopping ones whose machine is gone become
// stopped with a state reason.
func (m *Manager) adoptAll(ctx context.Context) error {
	recs, err := listRecords(ctx, m.kv, recordsPrefix)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Node != m.cfg.Node || !r.active() {
			continue
		}
		if err := m.adopt(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) adopt(ctx context.Context, r Record) error {
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	mach, err := m.cfg.Hypervisor.Adopt(actx, m.dir(r.ID), m.log.With("instance", r.ID))
	cancel()
	if err != nil {
		if !errors.Is(err, ErrNotRunning) {
			m.log.Warn("instance: adopt", "instance", r.ID, "err", err)
		}
		// A pending one boots now; a shutting-down one is finished by
		// the loop.
		_, _, err := transition(ctx, m.kv, r.Account, r.ID, Stopped, reasonInternal,
			"Server.InternalError: the instance's machine was gone after a restart of its node", Running, Stopping)
		return err
	}
	// l.fw stays nil: the first converge sets the forwards the groups
	// allow now, whatever the machine was started with.
	m.mu.Lock()
	m.local[r.ID] = &local{m: mach}
	m.mu.Unlock()
	m.watch(mach, r.Account, r.ID)
	m.log.Info("instance: machine adopted", "instance", r.ID, "state", r.State)
	m.converge(r.Account, r.ID) // running: metadata server; stopping: finish the stop
	return nil
}
