package app

import (
	"context"
	"net"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/services"
)

// directWorkers is how many direct service workers cfg allows: its
// ServicesDirect, two per CPU when 0, none when negative or in a cluster.
func directWorkers(cfg Config, clustered bool) int {
	switch {
	case clustered || cfg.ServicesDirect < 0:
		return 0
	case cfg.ServicesDirect == 0:
		return 2 * runtime.NumCPU()
	}
	return cfg.ServicesDirect
}

// enableDirect turns on direct service connections (DESIGN.md,
// "Services: direct connections"). Connections a direct worker hands
// back reach the node's server through n.readmit.
func (n *Node) enableDirect(ctx context.Context) error {
	max := directWorkers(n.cfg, n.cluster != nil)
	if max == 0 {
		return nil
	}
	cached, ok := n.kv.(*meta.Cached)
	if !ok {
		return nil // no write hooks: a worker's binding could go stale
	}
	n.readmit = newConnQueue(n.ln.Addr())
	err := n.services.EnableDirect(ctx, services.DirectConfig{Runtime: n.sandbox, Max: max,
		Dir: filepath.Join(n.cfg.DataDir, "control", "direct"), Domain: n.cfg.Domain, Idle: n.cfg.ServicesDirectIdle,
		Logger: n.cfg.Logger.With("component", "services"), Readmit: n.readmit.put,
		Metrics: n.metrics, RequestLog: n.cfg.Logger})
	if err != nil {
		return err
	}
	// A worker binds its app's version (apps-latest/ names it for a bare
	// name) and its owner's caps: a write of either drains the workers it
	// changes before the write returns.
	for _, prefix := range []string{"apps/", "apps-latest/", "accounts/"} {
		cached.OnWrite(prefix, n.services.RevalidateDirect)
	}
	return nil
}

// connQueue is a listener whose connections are handed to it: the
// server serves it next to the node's listener. Safe for concurrent
// use; put after Close closes the connection.
type connQueue struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// put gives c to the server, or closes it once the queue is closed.
func (q *connQueue) put(c net.Conn) {
	select {
	case q.ch <- c:
	case <-q.done:
		c.Close()
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }
