package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// ClusterStatus is GET /api/v1/cluster.
type ClusterStatus struct {
	Self            string        `json:"self"`
	Nodes           []ClusterNode `json:"nodes"`
	Replicas        int           `json:"replicas"`
	UnderReplicated int64         `json:"under_replicated"`
	Etcd            []EtcdMember  `json:"etcd"`
}

// ClusterNode is one node of ClusterStatus.
type ClusterNode struct {
	Name     string    `json:"name"`
	Zone     string    `json:"zone"`
	State    string    `json:"state"`
	Endpoint string    `json:"endpoint"`
	EtcdPeer string    `json:"etcd_peer,omitempty"`
	EtcdURL  string    `json:"etcd_client,omitempty"`
	Joined   time.Time `json:"joined"`
	Usage    struct {
		Slots       int   `json:"slots"`
		SlotsUsed   int   `json:"slots_used"`
		Memory      int64 `json:"memory"`
		MemoryUsed  int64 `json:"memory_used"`
		Disk        int64 `json:"disk"`
		DiskUsed    int64 `json:"disk_used"`
		RunsWaiting int   `json:"runs_waiting"`
	} `json:"usage"`
	Repair struct {
		Passes          int64     `json:"passes"`
		LastPass        time.Time `json:"last_pass"`
		Objects         int64     `json:"objects"`
		UnderReplicated int64     `json:"under_replicated"`
		Copied          int64     `json:"copied"`
		Dropped         int64     `json:"dropped"`
	} `json:"repair"`
}

// EtcdMember is one member of the control plane's etcd.
type EtcdMember struct {
	Name       string   `json:"name"`
	ID         string   `json:"id"`
	PeerURLs   []string `json:"peer_urls"`
	ClientURLs []string `json:"client_urls"`
	Leader     bool     `json:"leader"`
	Learner    bool     `json:"learner,omitempty"`
}

// ClusterStatus reads the cluster's nodes, replicas and etcd members.
func (c *Client) ClusterStatus(ctx context.Context) (*ClusterStatus, error) {
	var st ClusterStatus
	return &st, c.do(ctx, http.MethodGet, "/api/v1/cluster", nil, &st)
}

// DrainNode marks a node draining (root only): its data and work move
// off it. on false puts it back.
func (c *Client) DrainNode(ctx context.Context, node string, on bool) error {
	m := http.MethodPost
	if !on {
		m = http.MethodDelete
	}
	return c.do(ctx, m, "/api/v1/cluster/nodes/"+url.PathEscape(node)+"/drain", nil, nil)
}

// Replicas names the nodes holding the newest copy of an object.
func (c *Client) Replicas(ctx context.Context, bucket, key string) ([]string, error) {
	var out struct {
		Replicas []string `json:"replicas"`
	}
	q := url.Values{"bucket": {bucket}, "key": {key}}
	return out.Replicas, c.do(ctx, http.MethodGet, "/api/v1/replicas?"+q.Encode(), nil, &out)
}
