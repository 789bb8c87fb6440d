package cluster

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// watchMember waits for this node's embedded etcd member to stop while
// the node runs. That happens when the cluster removed it: the autopilot
// replaced it while the node was cut off, and the member applied its own
// removal when it could talk again. The node then goes on as an etcd
// client of the members (demote) instead of talking to a stopped server
// for ever. It runs until Close (which cancels before it closes the
// member, so a shutdown is never taken for a removal).
func (c *Cluster) watchMember(m *etcdMember) {
	defer c.wg.Done()
	select {
	case <-c.ctx.Done():
		return
	case <-m.e.Server.StopNotify():
	}
	if c.ctx.Err() != nil {
		return
	}
	c.demote(m)
}

// demote closes the stopped member (its listeners too, so the client
// fails over at once), points the client at the other members, keeps
// that in the node's state (a restart dials them as a client), drops the
// member's data and the node record's etcd URL.
func (c *Cluster) demote(m *etcdMember) {
	c.member.CompareAndSwap(m, nil)
	m.Close()
	others := c.otherEtcdURLs()
	if len(others) == 0 {
		c.log.Error("this node's etcd member stopped and no other member is known: it cannot reach the cluster")
		return
	}
	c.etcd.SetEndpoints(others...)
	c.joinMu.Lock()
	c.st.Voter, c.st.Endpoints = false, others
	err := saveState(c.cfg.DataDir, c.st)
	c.joinMu.Unlock()
	if err != nil {
		c.log.Warn("saving the cluster state", "err", err)
	}
	if err := os.RemoveAll(filepath.Join(c.cfg.DataDir, "etcd")); err != nil {
		c.log.Warn("removing the old etcd member's data", "err", err)
	}
	c.log.Warn("this node's etcd member was removed from the cluster (replaced while it was away); it goes on as an etcd client", "endpoints", others)
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	if err := retry(ctx, 30, func() error { return c.clearEtcdURL(ctx) }); err != nil {
		c.log.Warn("updating this node's record", "err", err)
	}
}

// otherEtcdURLs is every etcd client URL the node knows but its own: the
// client's endpoints (kept in sync with the members) and the voters'
// URLs in the node records of the view.
func (c *Cluster) otherEtcdURLs() []string {
	var out []string
	add := func(u string) {
		if u != "" && u != c.st.ClientURL && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	for _, u := range c.etcd.Endpoints() {
		add(u)
	}
	for _, n := range c.Nodes() {
		add(n.EtcdURL)
	}
	return out
}

// clearEtcdURL rewrites this node's record without its etcd client URL.
func (c *Cluster) clearEtcdURL(ctx context.Context) error {
	key := "nodes/" + c.st.Name
	b, err := c.kv.Get(ctx, key)
	if err != nil {
		return err
	}
	var rec NodeRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return err
	}
	rec.EtcdURL = ""
	nb, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return c.kv.CompareAndSwap(ctx, key, b, nb)
}
