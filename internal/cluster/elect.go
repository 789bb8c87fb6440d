package cluster

import (
	"context"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"
)

// ElectionTTL is the lease (seconds) behind a leadership: a leader that
// dies without resigning is replaced within it.
const ElectionTTL = LeaseTTL

// resignTimeout bounds the revoke of a resigning leader's lease (etcd
// without a quorum, as when the last members stop, cannot answer it).
const resignTimeout = time.Second

// Elect blocks until this node leads the election called name, or ctx
// ends. At most one node leads an election at a time (an etcd election,
// /insitu/elect/NAME, under a lease of ElectionTTL seconds that this node
// keeps alive). It returns a context that ends when the leadership is
// lost (the lease could not be kept alive) or ctx ends, and resign, which
// the caller must call once: it ends that context, waits for the
// goroutine watching the lease and revokes the lease, so the next
// candidate is elected at once. As with any lease, a leader cut off from
// etcd may still act for up to ElectionTTL before its context ends; what
// it runs must be safe to repeat. Call it before Close.
func (c *Cluster) Elect(ctx context.Context, name string) (context.Context, func(), error) {
	g, err := c.etcd.Grant(ctx, ElectionTTL)
	if err != nil {
		return nil, nil, err
	}
	// The session lives with the cluster, not ctx, so resign can still
	// revoke its lease after ctx ended.
	s, err := concurrency.NewSession(c.etcd, concurrency.WithLease(g.ID), concurrency.WithTTL(ElectionTTL), concurrency.WithContext(c.ctx))
	if err != nil {
		return nil, nil, err
	}
	el := concurrency.NewElection(s, Prefix+"elect/"+name)
	if err := el.Campaign(ctx, c.Name()); err != nil {
		c.endSession(s)
		return nil, nil, err
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-s.Done():
			c.log.Warn("lost the leadership: its lease lapsed", "election", name)
		case <-lctx.Done():
		}
		cancel()
	}()
	resign := func() {
		cancel()
		<-done
		c.endSession(s)
	}
	return lctx, resign, nil
}

// endSession stops s's keep-alive and revokes its lease, waiting at most
// resignTimeout: a lease not revoked lapses within ElectionTTL anyway.
func (c *Cluster) endSession(s *concurrency.Session) {
	s.Orphan()
	ctx, cancel := context.WithTimeout(c.ctx, resignTimeout)
	defer cancel()
	_, _ = c.etcd.Revoke(ctx, s.Lease())
}
