package cluster

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// ReplaceAfter is how long an etcd voter's node must be down before the
// leader replaces it with a live node that is not a voter (autopilot).
const ReplaceAfter = 20 * time.Second

// autopilot keeps the etcd voters alive: the node whose member leads
// watches the voters' nodes and replaces one down for ReplaceAfter by an
// up client node (remove the dead member, add the new one, tell that node
// to start its member). One replacement per round, so the cluster
// changes one voter at a time.
func (c *Cluster) autopilot() {
	defer c.wg.Done()
	downSince := map[string]time.Time{}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		if m := c.member.Load(); m == nil || m.e.Server.Leader() != m.e.Server.MemberID() {
			continue
		}
		ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
		if err := c.replaceVoter(ctx, downSince); err != nil {
			c.log.Warn("autopilot: replacing a voter failed", "err", err)
		}
		cancel()
	}
}

// replaceVoter does one round of the autopilot.
func (c *Cluster) replaceVoter(ctx context.Context, downSince map[string]time.Time) error {
	ml, err := c.etcd.MemberList(ctx)
	if err != nil {
		return err
	}
	nodes := map[string]NodeStatus{}
	for _, n := range c.Nodes() {
		nodes[n.Name] = n
	}
	voters := map[string]uint64{}
	for _, m := range ml.Members {
		voters[m.Name] = m.ID
	}
	now := time.Now()
	for name, id := range voters {
		n, known := nodes[name]
		if !known || n.State != StateDown {
			delete(downSince, name)
			continue
		}
		if downSince[name].IsZero() {
			downSince[name] = now
		}
		if now.Sub(downSince[name]) < ReplaceAfter {
			continue
		}
		spare, ok := pickSpare(nodes, voters)
		if !ok {
			return nil
		}
		c.log.Warn("autopilot: replacing a lost etcd voter", "lost", name, "with", spare.Name)
		if _, err := c.etcd.MemberRemove(ctx, id); err != nil {
			return err
		}
		delete(downSince, name)
		return c.promote(ctx, spare)
	}
	return nil
}

// pickSpare chooses an up node that is not a voter (the first by name).
func pickSpare(nodes map[string]NodeStatus, voters map[string]uint64) (NodeStatus, bool) {
	var best NodeStatus
	for name, n := range nodes {
		if _, v := voters[name]; v || n.State != StateUp || n.EtcdPeer == "" {
			continue
		}
		if best.Name == "" || name < best.Name {
			best = n
		}
	}
	return best, best.Name != ""
}

// promote adds spare's member and tells spare to start it.
func (c *Cluster) promote(ctx context.Context, spare NodeStatus) error {
	reply, err := c.admit(ctx, joinRequest{Name: spare.Name, PeerURL: spare.EtcdPeer})
	if err != nil {
		return err
	}
	return c.call(ctx, spare.Endpoint, "POST", internalPrefix+"promote", reply, nil)
}

// servePromote starts this node's etcd member in the running cluster.
func (c *Cluster) servePromote(w http.ResponseWriter, r *http.Request) {
	var a joinReply
	if !readJSON(w, r, &a) {
		return
	}
	c.joinMu.Lock()
	defer c.joinMu.Unlock()
	if c.member.Load() != nil {
		writeJSON(w, struct{}{}, nil)
		return
	}
	dir := filepath.Join(c.cfg.DataDir, "etcd")
	_ = os.RemoveAll(dir)
	c.st.Voter = true
	if err := saveState(c.cfg.DataDir, c.st); err != nil {
		writeError(w, err)
		return
	}
	m, err := startMember(c.ctx, dir, c.st, a.InitialCluster, true, c.log)
	if err != nil {
		writeError(w, err)
		return
	}
	c.member.Store(m)
	c.log.Info("promoted to etcd voter")
	writeJSON(w, struct{}{}, c.republish(r.Context()))
}

// republish rewrites this node's record (its etcd client URL changed).
func (c *Cluster) republish(ctx context.Context) error {
	rec, err := c.Node(ctx, c.st.Name)
	if err != nil {
		return err
	}
	rec.EtcdURL = c.st.ClientURL
	return c.putNode(ctx, rec)
}
