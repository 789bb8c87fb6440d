package cluster

import (
	"context"
	"fmt"
	"time"
)

// Status is the cluster as `insitu cluster status` shows it.
type Status struct {
	Self     string       `json:"self"`
	Nodes    []NodeStatus `json:"nodes"`
	Replicas int          `json:"replicas"`
	// UnderReplicated counts objects with fewer healthy copies than
	// wanted, as the live nodes' last repair passes found them (0 when
	// fully repaired).
	UnderReplicated int64        `json:"under_replicated"`
	Etcd            []EtcdMember `json:"etcd"`
}

// EtcdMember is one member of the control plane's etcd cluster.
type EtcdMember struct {
	Name      string   `json:"name"`
	ID        string   `json:"id"`
	PeerURLs  []string `json:"peer_urls"`
	ClientURL []string `json:"client_urls"`
	Leader    bool     `json:"leader"`
	Learner   bool     `json:"learner,omitempty"`
}

// Status reads the cluster's state: the view refreshed now, and the etcd
// members with the leader marked.
func (c *Cluster) Status(ctx context.Context) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.view.refresh(ctx); err != nil {
		return Status{}, err
	}
	st := Status{Self: c.Name(), Nodes: c.Nodes(), Replicas: c.replica}
	for _, n := range st.Nodes {
		if n.State != StateDown {
			st.UnderReplicated += n.Repair.UnderReplicated
		}
	}
	ml, err := c.etcd.MemberList(ctx)
	if err != nil {
		return st, err
	}
	var leader uint64
	for _, ep := range c.etcd.Endpoints() {
		// a second each: a dead member's endpoint must not use up ctx
		sctx, scancel := context.WithTimeout(ctx, time.Second)
		s, err := c.etcd.Status(sctx, ep)
		scancel()
		if err == nil {
			leader = s.Leader
			break
		}
	}
	for _, m := range ml.Members {
		st.Etcd = append(st.Etcd, EtcdMember{Name: m.Name, ID: fmt.Sprintf("%016x", m.ID), PeerURLs: m.PeerURLs, ClientURL: m.ClientURLs,
			Leader: m.ID == leader, Learner: m.IsLearner})
	}
	return st, nil
}
