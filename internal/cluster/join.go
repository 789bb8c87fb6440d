package cluster

import (
	"context"
	"net/http"
	"time"
)

// serveJoin answers a node asking for a place: a new etcd member while
// there are fewer than MaxVoters, else the members' client URLs. Joins
// are serialized on this node; etcd refuses a second member added before
// the first one started, and the joiner retries.
func (c *Cluster) serveJoin(w http.ResponseWriter, r *http.Request) {
	var a joinRequest
	if !readJSON(w, r, &a) {
		return
	}
	c.joinMu.Lock()
	defer c.joinMu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	reply, err := c.admit(ctx, a)
	writeJSON(w, reply, err)
}

// admit decides a joiner's role and, for a voter, adds its member.
func (c *Cluster) admit(ctx context.Context, a joinRequest) (joinReply, error) {
	var reply joinReply
	ml, err := c.etcd.MemberList(ctx)
	if err != nil {
		return reply, err
	}
	var urls []memberURL
	voters := 0
	for _, m := range ml.Members {
		reply.Endpoints = append(reply.Endpoints, m.ClientURLs...)
		if !m.IsLearner {
			voters++
		}
		for _, p := range m.PeerURLs {
			if p == a.PeerURL { // asked before, or restarting: its member exists
				reply.Voter, reply.Existing = true, true
			}
		}
		if m.Name != "" {
			urls = append(urls, memberURL{m.Name, m.PeerURLs[0]})
		}
	}
	if !reply.Voter && voters >= MaxVoters {
		return reply, nil
	}
	if !reply.Voter {
		if _, err := c.etcd.MemberAdd(ctx, []string{a.PeerURL}); err != nil {
			return reply, err
		}
	}
	reply.Voter = true
	reply.InitialCluster = initialCluster(append(urls, memberURL{a.Name, a.PeerURL}))
	c.log.Info("node joins as an etcd member", "node", a.Name, "peer", a.PeerURL)
	return reply, nil
}
