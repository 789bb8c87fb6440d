package apptest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/client"
)

// ClusterOptions select how a test cluster runs.
type ClusterOptions struct {
	// Zones gives each node's zone, so its length is the number of nodes.
	Zones []string
	// Replicas is the cluster's copies of each object. Default 2.
	Replicas int
	// RepairEvery is the wait between repair passes while there is work
	// left. Default 1s.
	RepairEvery time.Duration
	// RepairFullEvery is the longest wait between passes when nothing
	// asks for one. Default RepairEvery (passes on a timer, as the tests
	// written before event-driven repair expect); a test of the events
	// sets it long.
	RepairFullEvery time.Duration
	// Configure adjusts every node's configuration last (i is its index).
	Configure func(i int, cfg *app.Config)
}

// Cluster is a running in-process cluster: real nodes on loopback, the
// first one running the embedded etcd and the next two joining it as
// members, the rest as clients.
type Cluster struct {
	Nodes  []*Node
	Secret string
	opts   ClusterOptions
	t      testing.TB
}

// StartCluster starts len(opts.Zones) nodes, one after the other, each
// joining the first, and waits until the first node sees all of them up.
// The others re-read their views every second, so right after it returns
// a node may not know the last ones yet (the cluster must cope with that).
func StartCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	if opts.Replicas == 0 {
		opts.Replicas = 2
	}
	if opts.RepairEvery == 0 {
		opts.RepairEvery = time.Second
	}
	if opts.RepairFullEvery == 0 {
		opts.RepairFullEvery = opts.RepairEvery
	}
	c := &Cluster{opts: opts, t: t, Secret: "test-cluster-secret-0123456789"}
	for i := range opts.Zones {
		c.Nodes = append(c.Nodes, c.start(i, t.TempDir()))
	}
	c.WaitUp(len(c.Nodes))
	return c
}

// start runs node i with dataDir.
func (c *Cluster) start(i int, dataDir string) *Node {
	return Start(c.t, Options{DataDir: dataDir, Configure: func(cfg *app.Config) {
		cfg.Cluster = app.ClusterConfig{Zone: c.opts.Zones[i], Replicas: c.opts.Replicas, Secret: c.Secret,
			Name: fmt.Sprintf("node%d", i), RepairEvery: c.opts.RepairEvery,
			RepairFullEvery: c.opts.RepairFullEvery}
		if i > 0 {
			cfg.Cluster.Join = c.Nodes[0].Endpoint()
		}
		if c.opts.Configure != nil {
			c.opts.Configure(i, cfg)
		}
	}})
}

// API returns a native API client of node i as root.
func (c *Cluster) API(i int) *client.Client {
	n := c.Nodes[i]
	cl, err := client.New(client.Config{Endpoint: n.Endpoint(), AccessKey: n.AccessKey, SecretKey: n.SecretKey, Region: n.Region})
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// Status reads the cluster status through node i.
func (c *Cluster) Status(i int) *client.ClusterStatus {
	c.t.Helper()
	st, err := c.API(i).ClusterStatus(context.Background())
	if err != nil {
		c.t.Fatalf("cluster status via node%d: %v", i, err)
	}
	return st
}

// WaitUp waits until node 0... sees want nodes up.
func (c *Cluster) WaitUp(want int) {
	c.t.Helper()
	c.Wait(time.Minute, fmt.Sprintf("%d nodes up", want), func(st *client.ClusterStatus) bool {
		return countUp(st) == want
	})
}

// WaitViews waits (a minute at most) until every node's own view shows
// every node up: a coordinator writes only to the nodes its view shows.
func (c *Cluster) WaitViews() {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for i := 0; i < len(c.Nodes); {
		up := countUp(c.Status(i))
		if up == len(c.Nodes) {
			i++
			continue
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("node%d's view shows %d nodes up", i, up)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func countUp(st *client.ClusterStatus) int {
	up := 0
	for _, n := range st.Nodes {
		if n.State == "up" {
			up++
		}
	}
	return up
}

// Wait polls the status through the first running node until ok holds.
func (c *Cluster) Wait(timeout time.Duration, what string, ok func(*client.ClusterStatus) bool) *client.ClusterStatus {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for i, n := range c.Nodes {
			if n.cancel == nil {
				continue // stopped
			}
			if st, err := c.API(i).ClusterStatus(context.Background()); err == nil && ok(st) {
				return st
			}
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("cluster: waited %s for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Restart starts node i again (stopped before) on its data directory.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.Nodes[i] = c.start(i, c.Nodes[i].DataDir)
}
