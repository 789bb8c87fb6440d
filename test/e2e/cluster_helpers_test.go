package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/client"
)

// clusterRepairEvery is the nodes' longest wait between repair passes
// (the hidden --repair-every and --repair-full-every flags; 10s and 10m
// by default): the helpers wait for passes on a timer. Event-driven
// passes are proven in process (internal/app TestClusterRepairOnEvents).
const clusterRepairEvery = "2s"

// cnode is one node of a test cluster: a server process with a name and
// a zone.
type cnode struct {
	*server
	Name, Zone string
	paused     bool // SIGSTOPped
	cut        bool // cut off by a network partition
}

// e2eCluster is a cluster of insitu processes on loopback: node 0 runs
// the first embedded etcd member and generates the cluster secret, the
// others join it. Not safe for concurrent use, except S3 and CLI calls.
type e2eCluster struct {
	t        *testing.T
	Nodes    []*cnode
	Secret   string
	Replicas int
	home     string // HOME of the CLI runs
	host     string // the nodes' listen address; default 127.0.0.1
}

// startCluster starts one node per zone, one after the other, and waits
// until the cluster sees them all up.
func startCluster(t *testing.T, replicas int, zones ...string) *e2eCluster {
	t.Helper()
	c := newCluster(t, replicas, "")
	for _, z := range zones {
		c.Add(z)
	}
	c.WaitUp(len(zones))
	return c
}

// newCluster returns a cluster with no node yet whose nodes listen on
// host (default 127.0.0.1).
func newCluster(t *testing.T, replicas int, host string) *e2eCluster {
	return &e2eCluster{t: t, Replicas: replicas, home: t.TempDir(), host: host}
}

// Add starts a node in zone that joins the cluster through a running node
// (its name is nI, I its index).
func (c *e2eCluster) Add(zone string) *cnode {
	c.t.Helper()
	return c.AddWith(zone, serverOpts{Host: c.host})
}

// AddWith is Add with the server options opts (Args and Env are added to).
func (c *e2eCluster) AddWith(zone string, opts serverOpts) *cnode {
	c.t.Helper()
	i := len(c.Nodes)
	name := "n" + strconv.Itoa(i)
	args := []string{"--zone", zone, "--name", name, "--repair-every", clusterRepairEvery, "--repair-full-every", clusterRepairEvery}
	var env []string
	if i == 0 {
		args = append(args, "--replicas", strconv.Itoa(c.Replicas))
	} else {
		args = append(args, "--join", c.Live()[0].Endpoint)
		env = []string{"INSITU_CLUSTER_SECRET=" + c.Secret}
	}
	opts.Args, opts.Env = append(opts.Args, args...), append(opts.Env, env...)
	s := startServer(c.t, opts)
	n := &cnode{server: s, Name: name, Zone: zone}
	c.t.Cleanup(func() {
		if n.paused {
			_ = n.cmd.Process.Signal(syscall.SIGCONT)
		}
	})
	if i == 0 {
		b, err := os.ReadFile(filepath.Join(s.opts.DataDir, "cluster-secret"))
		if err != nil {
			c.t.Fatalf("the first node's cluster secret: %v", err)
		}
		c.Secret = strings.TrimSpace(string(b))
	}
	c.Nodes = append(c.Nodes, n)
	return n
}

// Node returns the node called name.
func (c *e2eCluster) Node(name string) *cnode {
	c.t.Helper()
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	c.t.Fatalf("no node %q", name)
	return nil
}

// Live returns the nodes running and not paused.
func (c *e2eCluster) Live() []*cnode {
	var out []*cnode
	for _, n := range c.Nodes {
		if !n.stopped && !n.paused && !n.cut {
			out = append(out, n)
		}
	}
	return out
}

// pauseView marks n unreachable (or reachable again) for Live without
// signalling it: a partitioned node.
func (c *e2eCluster) pauseView(n *cnode, on bool) { n.cut = on }

// Pause sends SIGSTOP to n; Resume sends SIGCONT.
func (c *e2eCluster) Pause(n *cnode) {
	c.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		c.t.Fatal(err)
	}
	n.paused = true
}

func (c *e2eCluster) Resume(n *cnode) {
	c.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		c.t.Fatal(err)
	}
	n.paused = false
}

// CLI runs the insitu CLI against node via as root and returns stdout.
func (c *e2eCluster) CLI(via *cnode, args ...string) (string, error) {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.home,
		"INSITU_ENDPOINT=" + via.Endpoint, "INSITU_ACCESS_KEY=" + rootAK, "INSITU_SECRET_KEY=" + rootSK}
	return runTool(env, 30*time.Second, insituBin, args...)
}

// Status is `insitu cluster status --json` through node via.
func (c *e2eCluster) Status(via *cnode) (*client.ClusterStatus, error) {
	out, err := c.CLI(via, "cluster", "status", "--json")
	if err != nil {
		return nil, err
	}
	var st client.ClusterStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("cluster status --json: %v\n%s", err, out)
	}
	return &st, nil
}

// Wait polls the status through the first live node until ok holds, and
// fails the test after timeout.
func (c *e2eCluster) Wait(timeout time.Duration, what string, ok func(*client.ClusterStatus) bool) *client.ClusterStatus {
	c.t.Helper()
	start := time.Now()
	var last error
	for {
		if live := c.Live(); len(live) > 0 {
			st, err := c.Status(live[0])
			if err == nil && ok(st) {
				c.t.Logf("cluster: %s after %v", what, time.Since(start).Round(100*time.Millisecond))
				return st
			}
			last = err
		}
		if time.Since(start) > timeout {
			c.t.Fatalf("cluster: waited %v for %s (last error: %v)", timeout, what, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// WaitUp waits until want nodes are up.
func (c *e2eCluster) WaitUp(want int) {
	c.t.Helper()
	c.Wait(time.Minute, fmt.Sprintf("%d nodes up", want), func(st *client.ClusterStatus) bool {
		return countState(st, "up") == want
	})
}

// WaitState waits until node name is in state.
func (c *e2eCluster) WaitState(name, state string) {
	c.t.Helper()
	c.Wait(time.Minute, name+" "+state, func(st *client.ClusterStatus) bool { return stateOf(st, name) == state })
}

// WaitRepaired waits until every up node has finished two repair passes
// since now (so one started after now) and nothing is under-replicated.
func (c *e2eCluster) WaitRepaired(timeout time.Duration) *client.ClusterStatus {
	c.t.Helper()
	base := map[string]int64{}
	st := c.Wait(30*time.Second, "a status", func(*client.ClusterStatus) bool { return true })
	for _, n := range st.Nodes {
		base[n.Name] = n.Repair.Passes
	}
	return c.Wait(timeout, "under_replicated 0 after a pass started since", func(st *client.ClusterStatus) bool {
		for _, n := range st.Nodes {
			if n.State == "up" && n.Repair.Passes < base[n.Name]+2 {
				return false
			}
		}
		return st.UnderReplicated == 0
	})
}

func countState(st *client.ClusterStatus, state string) int {
	k := 0
	for _, n := range st.Nodes {
		if n.State == state {
			k++
		}
	}
	return k
}

func stateOf(st *client.ClusterStatus, name string) string {
	for _, n := range st.Nodes {
		if n.Name == name {
			return n.State
		}
	}
	return ""
}

// Holders runs `insitu stat --json` through via on keys of bucket (in
// batches) and returns each key's replicas.
func (c *e2eCluster) Holders(via *cnode, bucket string, keys []string) map[string][]string {
	c.t.Helper()
	out := map[string][]string{}
	for len(keys) > 0 {
		b := keys[:min(len(keys), 40)]
		keys = keys[len(b):]
		args := []string{"stat", "--json"}
		for _, k := range b {
			args = append(args, "s3://"+bucket+"/"+k)
		}
		text, err := c.CLI(via, args...)
		if err != nil {
			c.t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(text))
		for dec.More() {
			var rec struct {
				Key      string   `json:"key"`
				Replicas []string `json:"replicas"`
			}
			if err := dec.Decode(&rec); err != nil {
				c.t.Fatalf("stat --json: %v\n%s", err, text)
			}
			out[rec.Key] = rec.Replicas
		}
	}
	return out
}

// CheckSpread checks that each key of keys is held by copies nodes in
// distinct zones, none of them in skip.
func (c *e2eCluster) CheckSpread(via *cnode, bucket string, keys []string, copies int, skip ...string) map[string][]string {
	c.t.Helper()
	zone := map[string]string{}
	for _, n := range c.Nodes {
		zone[n.Name] = n.Zone
	}
	reps := c.Holders(via, bucket, keys)
	for _, k := range keys {
		zs := map[string]bool{}
		for _, r := range reps[k] {
			zs[zone[r]] = true
			for _, s := range skip {
				if r == s {
					c.t.Errorf("%s is held by %v, including %s", k, reps[k], s)
				}
			}
		}
		if len(reps[k]) != copies || len(zs) != copies {
			c.t.Errorf("%s is held by %v, want %d nodes in %d zones", k, reps[k], copies, copies)
		}
	}
	return reps
}

// ledger is what a test knows was acknowledged: each key's last
// acknowledged body. Safe for concurrent use.
type ledger struct {
	mu    sync.Mutex
	acked map[string][]byte
}

func newLedger() *ledger { return &ledger{acked: map[string][]byte{}} }

func (l *ledger) set(key string, b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[key] = b
}

func (l *ledger) get(key string) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked[key]
}

// snapshot copies the ledger.
func (l *ledger) snapshot() map[string][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string][]byte, len(l.acked))
	for k, v := range l.acked {
		out[k] = v
	}
	return out
}

// s3Put and s3Get are one PUT and one GET with aws-sdk-go-v2.
func s3Put(ctx context.Context, c *s3.Client, bucket, key string, b []byte) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(b)})
	return err
}

func s3Get(ctx context.Context, c *s3.Client, bucket, key string) ([]byte, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(out.Body)
	return buf.Bytes(), err
}

// createBucket creates bucket through n.
func createBucket(t *testing.T, n *cnode, bucket string) {
	t.Helper()
	if _, err := sdkClient(n.server).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s through %s: %v", bucket, n.Name, err)
	}
}

// readAll reads every key of want through n with 8 readers and reports
// each mismatch or error (at most 10).
func readAll(t *testing.T, n *cnode, bucket string, want map[string][]byte) {
	t.Helper()
	c := sdkClient(n.server)
	keys := make(chan string)
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				got, err := s3Get(ctx, c, bucket, k)
				cancel()
				if err == nil && bytes.Equal(got, want[k]) {
					continue
				}
				mu.Lock()
				bad = append(bad, describeRead(k, got, want[k], err))
				mu.Unlock()
			}
		}()
	}
	for k := range want {
		keys <- k
	}
	close(keys)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("through %s: %d of %d reads wrong, e.g.:\n%s", n.Name, len(bad), len(want), strings.Join(bad[:min(10, len(bad))], "\n"))
	}
}

func describeRead(key string, got, want []byte, err error) string {
	if err != nil {
		return fmt.Sprintf("  %s: %v", key, err)
	}
	return fmt.Sprintf("  %s: got %d bytes %.40q, want %d bytes %.40q", key, len(got), got, len(want), want)
}
