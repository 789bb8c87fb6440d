package instances

import (
	"context"
	"sync"
)

// local is this node's hold on one instance: its machine, its metadata
// server and the forwards last set. mu serializes the converge steps of
// the instance (boot, stop, kill, forwards, reset); busy/again, guarded by
// Manager.mu, make a kick during a step run the step once more after it.
type local struct {
	mu   sync.Mutex
	m    Machine
	imds *imdsServer
	fw   []Forward
	fwOK bool // fw is what the machine has (false after an adoption)

	lastErr string // the last converge error logged (each is logged once in a row)

	busy, again bool // under Manager.mu
}

// release drops the machine's QMP connection and the metadata server,
// leaving the machine running (node shutdown).
func (l *local) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m != nil {
		_ = l.m.Close()
		l.m = nil
	}
	l.stopIMDS()
}

// stopIMDS closes the metadata server, if any. l.mu is held.
func (l *local) stopIMDS() {
	if l.imds != nil {
		l.imds.Close()
		l.imds = nil
	}
}

// exited reports whether the machine's process is gone. l.mu is held.
func (l *local) exited() bool {
	if l.m == nil {
		return false
	}
	select {
	case <-l.m.Done():
		return true
	default:
		return false
	}
}

// kick makes the instance's node converge it: here when it is local, else
// through the cluster (best effort: that node's own loop converges it
// within ReconcileEvery anyway).
func (m *Manager) kick(ctx context.Context, r Record) {
	if r.Node != m.cfg.Node {
		m.kickRemote(ctx, r)
		return
	}
	m.converge(r.Account, r.ID)
}

// converge runs the instance's converge step in a goroutine the Manager
// owns, unless one runs already, which then runs once more.
func (m *Manager) converge(account, id string) {
	m.mu.Lock()
	if m.ctx.Err() != nil {
		m.mu.Unlock()
		return
	}
	l := m.local[id]
	if l == nil {
		l = &local{}
		m.local[id] = l
	}
	if l.busy {
		l.again = true
		m.mu.Unlock()
		return
	}
	l.busy = true
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		for {
			m.step(m.ctx, l, account, id)
			m.mu.Lock()
			if !l.again || m.ctx.Err() != nil {
				l.busy = false
				m.forget(id, l)
				m.mu.Unlock()
				return
			}
			l.again = false
			m.mu.Unlock()
		}
	}()
}

// forget drops l from the local set when it holds nothing. m.mu is held.
func (m *Manager) forget(id string, l *local) {
	if !l.mu.TryLock() {
		return
	}
	defer l.mu.Unlock()
	if l.m == nil && l.imds == nil && m.local[id] == l {
		delete(m.local, id)
	}
}

// watch kicks the instance when its machine's process exits (a guest
// power-off, a crash, or the end of a stop).
func (m *Manager) watch(mach Machine, account, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		select {
		case <-mach.Done():
			m.converge(account, id)
		case <-m.ctx.Done():
		}
	}()
}
