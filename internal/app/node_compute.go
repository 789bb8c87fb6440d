package app

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/insitu-cloud/insitu/internal/cluster"
	"github.com/insitu-cloud/insitu/internal/jobs"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/runs"
)

// computeRemote is the cluster as runs and jobs see it: who holds an
// object, who is up and with what load, and the signed internal call
// that runs a request on another node (runs.RemotePath). Safe for
// concurrent use; runs is set once, before the node serves.
type computeRemote struct {
	c    *cluster.Cluster
	e    *cluster.Engine
	runs *runs.Service
}

var (
	_ runs.Remote  = (*computeRemote)(nil)
	_ jobs.Cluster = (*computeRemote)(nil)
)

func (r *computeRemote) Self() string { return r.c.Name() }

func (r *computeRemote) Holders(ctx context.Context, bucket, key string) ([]string, error) {
	return r.e.Holders(ctx, bucket, key)
}

// Alive reports whether node is in the view and not down (a draining
// node still finishes what it was given).
func (r *computeRemote) Alive(node string) bool {
	for _, n := range r.c.Nodes() {
		if n.Name == node {
			return n.State != cluster.StateDown
		}
	}
	return false
}

// Send posts body to path on node, signed as a member.
func (r *computeRemote) Send(ctx context.Context, node, path string, hdr http.Header, body io.Reader) (*http.Response, error) {
	endpoint := ""
	for _, n := range r.c.Nodes() {
		if n.Name == node {
			endpoint = n.Endpoint
		}
	}
	if endpoint == "" {
		return nil, cluster.ErrNoSuchNode
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+path, io.NopCloser(body))
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	return r.c.Send(req)
}

// Nodes lists the nodes taking work: up and not draining.
func (r *computeRemote) Nodes() []jobs.NodeLoad {
	var out []jobs.NodeLoad
	for _, n := range r.c.Nodes() {
		if n.State != cluster.StateUp {
			continue
		}
		u := n.Usage
		out = append(out, jobs.NodeLoad{ID: n.Name, Zone: n.Zone, Slots: u.Slots, SlotsUsed: u.SlotsUsed, FreeMemory: max(u.Memory-u.MemoryUsed, 0)})
	}
	return out
}

func (r *computeRemote) RunAt(ctx context.Context, node string, req runs.Request) (*runs.Record, error) {
	return r.runs.RunAt(ctx, node, req)
}

// newComputeRemote is nil when the node is alone.
func (n *Node) newComputeRemote() *computeRemote {
	if n.cluster == nil {
		return nil
	}
	return &computeRemote{c: n.cluster, e: n.engine.(*cluster.Engine)}
}

// serveRemoteRuns registers the internal endpoint that executes runs for
// other nodes; it must run before the node serves.
func (n *Node) serveRemoteRuns() {
	if n.cluster != nil {
		n.cluster.Handle("POST "+runs.RemotePath, http.HandlerFunc(n.runs.ServeRemote))
	}
}

// peerPaced wraps h in body deadlines (obs.BodyDeadlines, the node's
// BodyTimeout) except for runs another member sends (runs.RemotePath on
// the node's own host, not a virtual-host bucket's key): a member streams
// a reducer's stdin as fast as the job's outputs can be read, which may
// pause longer than a client may. The cluster's handler checks such a
// request's signature from its headers before any of its body is read,
// so an unsigned one is refused at once.
func (n *Node) peerPaced(virtualBucket func(*http.Request) string, h http.Handler) http.Handler {
	paced := obs.BodyDeadlines(n.cfg.BodyTimeout, h)
	if n.cluster == nil {
		return paced
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == runs.RemotePath && virtualBucket(r) == "" {
			h.ServeHTTP(w, r)
			return
		}
		paced.ServeHTTP(w, r)
	})
}
