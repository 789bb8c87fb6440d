package cluster

import (
	"context"
	"sync"
)

// members returns the nodes placement may choose (up, not draining, not
// suspect) and every node not down, as placement members.
func (e *Engine) members() (place, known []Member, byName map[string]NodeStatus) {
	byName = map[string]NodeStatus{}
	for _, n := range e.c.Nodes() {
		byName[n.Name] = n
		m := Member{Name: n.Name, Zone: n.Zone, Weight: weightOf(n)}
		known = append(known, m)
		if n.State == StateUp && !e.c.sus.has(n.Endpoint) {
			place = append(place, m)
		}
	}
	return place, known, byName
}

// weightOf is a node's placement weight: its disk in GiB (at least 1).
// Disk size rarely changes, so every node computes the same weights.
func weightOf(n NodeStatus) float64 {
	return max(1, float64(n.Usage.Disk>>30))
}

// wanted is the number of replicas to keep: the cluster's value, never
// more than the nodes placement may choose.
func (e *Engine) wanted(place []Member) int {
	return max(1, min(e.c.replica, len(place)))
}

// targets returns the nodes a write of bucket/key goes to, best first.
func (e *Engine) targets(bucket, key string) []NodeStatus {
	place, _, byName := e.members()
	return statuses(Place(place, bucket, key, e.wanted(place)), byName)
}

// readSet returns the reachable nodes that should hold bucket/key: its
// placement among the live nodes, then its placement, one node wider,
// among every known node (where it was written before a node failed or
// drained), live ones only, without duplicates.
func (e *Engine) readSet(bucket, key string) []NodeStatus {
	place, known, byName := e.members()
	n := e.wanted(place)
	seen := map[string]bool{}
	var out []NodeStatus
	// one more than wanted among every known node: the node that took a
	// copy's place while its own holder was away (a reader whose view is
	// stale still asks it)
	for _, m := range append(Place(place, bucket, key, n), Place(known, bucket, key, max(n, e.c.replica)+1)...) {
		if s := byName[m.Name]; !seen[m.Name] && s.State != StateDown {
			seen[m.Name] = true
			out = append(out, s)
		}
	}
	return out
}

// others returns the reachable nodes not in skip.
func (e *Engine) others(skip []NodeStatus) []NodeStatus {
	in := map[string]bool{}
	for _, s := range skip {
		in[s.Name] = true
	}
	var out []NodeStatus
	for _, n := range e.c.Nodes() {
		if !in[n.Name] && n.State != StateDown {
			out = append(out, n)
		}
	}
	return out
}

// newcomers re-reads the membership from etcd (without installing it:
// the view stays liveLoop's) and returns the reachable nodes it shows
// that asked did not ask: nodes that joined (or came back) since the view,
// re-read every second, was last read. A failed read gives none. Only a
// read that found nothing anywhere else pays for it.
func (e *Engine) newcomers(ctx context.Context, asked []holding) []NodeStatus {
	nodes, err := e.c.view.read(ctx)
	if err != nil {
		e.c.log.Debug("re-reading the membership for a missing key", "err", err)
		return nil
	}
	in := map[string]bool{}
	for _, h := range asked {
		in[h.node.Name] = true
	}
	var out []NodeStatus
	for _, n := range nodes {
		if !in[n.Name] && n.State != StateDown {
			out = append(out, n)
		}
	}
	return out
}

func statuses(ms []Member, byName map[string]NodeStatus) []NodeStatus {
	out := make([]NodeStatus, 0, len(ms))
	for _, m := range ms {
		out = append(out, byName[m.Name])
	}
	return out
}

// quorum is the write quorum of n targets: a majority.
func quorum(n int) int { return n/2 + 1 }

// self reports whether n is this node.
func (e *Engine) self(n NodeStatus) bool { return n.Name == e.c.Name() }

// eachLive calls fn for every reachable node at once and returns the
// first error.
func (e *Engine) eachLive(ctx context.Context, fn func(context.Context, NodeStatus) error) error {
	return each(ctx, e.others(nil), fn)
}

// each calls fn for every node of ns in parallel and returns the first
// error (in the order of ns).
func each(ctx context.Context, ns []NodeStatus, fn func(context.Context, NodeStatus) error) error {
	errs := make([]error, len(ns))
	var wg sync.WaitGroup
	for i, n := range ns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(ctx, n)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
