package app

import (
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/insitu-cloud/insitu/internal/cluster"
)

// forwardedHeader marks a service request another node handed over; it
// is served where it lands, never handed on again.
const forwardedHeader = "X-Insitu-Forwarded-By"

// spreadServices hands a service request this node has no free sandbox
// slot for to the up node with the most free slots (from the heartbeats,
// at most a second old), so service requests run on any node with room.
// The request goes as it came (same Host, path, headers and signature,
// its body streamed), answered by the other node through this one. When
// no node has room it is served here (queued, or 503 past the queue cap).
func (n *Node) spreadServices(h http.Handler) http.Handler {
	if n.cluster == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(forwardedHeader) == "" {
			if peer, ok := n.roomierPeer(); ok {
				n.forwardService(w, r, peer)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// roomierPeer returns the up node with the most free slots when this node
// has none free.
func (n *Node) roomierPeer() (cluster.NodeStatus, bool) {
	running, waiting := n.runs.Load()
	if running+waiting < n.sandbox.Workers() {
		return cluster.NodeStatus{}, false
	}
	var best cluster.NodeStatus
	bestFree := 0
	for _, p := range n.cluster.Nodes() {
		free := p.Usage.Slots - p.Usage.SlotsUsed - p.Usage.RunsWaiting
		if p.Name != n.cluster.Name() && p.State == cluster.StateUp && free > bestFree {
			best, bestFree = p, free
		}
	}
	return best, bestFree > 0
}

// forwardService proxies r to peer and streams its answer back.
func (n *Node) forwardService(w http.ResponseWriter, r *http.Request, peer cluster.NodeStatus) {
	target, err := url.Parse(peer.Endpoint)
	if err != nil {
		http.Error(w, "bad peer endpoint", http.StatusBadGateway)
		return
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path, pr.Out.URL.RawPath = pr.In.URL.Path, pr.In.URL.RawPath // as sent: the signature covers it
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(forwardedHeader, n.cluster.Name())
		},
		ErrorLog: nil,
	}
	rp.ServeHTTP(w, r)
}
