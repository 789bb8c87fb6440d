package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/client"
)

// clusterBody is the content of object i, version v: a header that says
// which, then random bytes (1 to 8 KiB in all).
func clusterBody(i, v int) []byte {
	b := make([]byte, 1024+(i*397)%7168)
	_, _ = rand.Read(b)
	copy(b, fmt.Sprintf("object %d version %d;", i, v))
	return b
}

// writeTree writes n objects as files under a new directory, at
// obj/NNN, and returns the directory and the bodies by key prefix+NNN.
func writeTree(t *testing.T, n int, prefix string) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	want := map[string][]byte{}
	for i := range n {
		name := fmt.Sprintf("%03d", i)
		b := clusterBody(i, 0)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		want[prefix+name] = b
	}
	return dir, want
}

// awsCopyTree uploads dir to s3://bucket/prefix with `aws s3 cp
// --recursive` through n.
func awsCopyTree(t *testing.T, n *cnode, dir, bucket, prefix string) {
	t.Helper()
	aws := needTool(t, "aws")
	env := toolEnv(t, rootAK, rootSK)
	start := time.Now()
	mustRun(t, env, 3*time.Minute, aws, "--endpoint-url", n.Endpoint, "s3", "cp", "--recursive",
		"--no-progress", "--only-show-errors", dir, "s3://"+bucket+"/"+prefix)
	t.Logf("aws s3 cp --recursive through %s: %v", n.Name, time.Since(start).Round(time.Millisecond))
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// every returns every step-th key.
func every(keys []string, step int) []string {
	var out []string
	for i := 0; i < len(keys); i += step {
		out = append(out, keys[i])
	}
	return out
}

// overwrite writes version v of the objects lo..hi-1 (overwriting or
// adding) through n with aws-sdk-go-v2 and records them in want.
func overwrite(t *testing.T, n *cnode, bucket, prefix string, lo, hi, v int, want map[string][]byte) {
	t.Helper()
	c := sdkClient(n.server)
	for i := lo; i < hi; i++ {
		k := fmt.Sprintf("%s%03d", prefix, i)
		b := clusterBody(i, v)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s3Put(ctx, c, bucket, k, b)
		cancel()
		if err != nil {
			t.Fatalf("put %s through %s: %v", k, n.Name, err)
		}
		want[k] = b
	}
}

// Four nodes in zones a, b, c, c with 2 replicas: 300 objects written
// with the aws CLI through one node read back through the others, each
// held by 2 nodes in 2 zones. A node is SIGKILLed; reads and writes go
// on; once it is down a repair pass restores 2 copies of everything; a
// second node is SIGKILLed (a majority of the 3 etcd voters stays) and
// every acknowledged object still reads back byte for byte. The first
// variant kills the non-voter first, the second a voter.
func TestClusterKillNodes(t *testing.T) {
	for _, tc := range []struct{ name, first, second string }{
		{"nonvoter-first", "n3", "n2"},
		{"voter-first", "n1", "n3"},
	} {
		t.Run(tc.name, func(t *testing.T) { testKillNodes(t, tc.first, tc.second) })
	}
}

func testKillNodes(t *testing.T, first, second string) {
	needTool(t, "aws")
	c := startCluster(t, 2, "a", "b", "c", "c")
	createBucket(t, c.Nodes[0], "data")
	dir, want := writeTree(t, 300, "obj/")
	awsCopyTree(t, c.Nodes[0], dir, "data", "obj/")
	for _, n := range c.Nodes[1:] {
		readAll(t, n, "data", want)
	}
	keys := sortedKeys(want)
	c.CheckSpread(c.Nodes[1], "data", every(keys, 10), 2)
	if t.Failed() {
		t.FailNow()
	}

	victim := c.Node(first)
	victim.Kill()
	t.Logf("SIGKILLed %s", victim.Name)
	live := c.Live()
	// reads and writes right away, before the node is seen down
	overwrite(t, live[0], "data", "obj/", 250, 330, 1, want)
	readAll(t, live[1], "data", want)
	c.WaitState(victim.Name, "down")
	overwrite(t, live[1], "data", "obj/", 320, 360, 1, want)
	c.WaitRepaired(90 * time.Second)
	c.CheckSpread(live[2], "data", every(sortedKeys(want), 6), 2, victim.Name)
	readAll(t, live[2], "data", want)

	victim2 := c.Node(second)
	victim2.Kill()
	t.Logf("SIGKILLed %s", victim2.Name)
	for _, n := range c.Live() {
		readAll(t, n, "data", want)
	}
	c.WaitState(victim2.Name, "down")
	overwrite(t, c.Live()[0], "data", "obj/", 350, 370, 2, want)
	for _, n := range c.Live() {
		readAll(t, n, "data", want)
	}
}

// A node SIGSTOPped for 20 s stops answering, like a partition: once it
// is down the others take overwrites of its keys; after SIGCONT no node,
// the stopped one included, serves the old bytes, right away or later.
func TestClusterPausedNodeServesNoStale(t *testing.T) {
	c := startCluster(t, 2, "a", "b", "c", "c")
	createBucket(t, c.Nodes[0], "pause")
	want := map[string][]byte{}
	overwrite(t, c.Nodes[0], "pause", "p/", 0, 80, 0, want)
	victim := c.Node("n1") // a voter, alone in zone b
	c.Pause(victim)
	paused := time.Now()
	// writes from the moment it stops: those placed on it wait for it to
	// be found out, then go elsewhere
	overwrite(t, c.Node("n0"), "pause", "p/", 0, 40, 1, want)
	t.Logf("40 overwrites through n0 from the SIGSTOP: %v", time.Since(paused).Round(time.Millisecond))
	c.WaitState(victim.Name, "down")
	overwrite(t, c.Node("n2"), "pause", "p/", 40, 80, 1, want)
	time.Sleep(time.Until(paused.Add(20 * time.Second)))
	c.Resume(victim)
	t.Logf("SIGCONT %s after %v", victim.Name, time.Since(paused).Round(time.Millisecond))
	for _, n := range c.Nodes {
		readAll(t, n, "pause", want)
	}
	time.Sleep(5 * time.Second)
	for _, n := range c.Nodes {
		readAll(t, n, "pause", want)
	}
}

// The etcd voter holding leadership is SIGKILLed: after an election the
// survivors go on serving S3 writes and reads, and the status through
// every survivor (the non-voter n3 too) shows the new leader at once.
func TestClusterLeaderKilled(t *testing.T) {
	c := startCluster(t, 2, "a", "b", "c", "c")
	createBucket(t, c.Nodes[0], "leader")
	want := map[string][]byte{}
	overwrite(t, c.Nodes[1], "leader", "l/", 0, 40, 0, want)
	st, err := c.Status(c.Nodes[2])
	if err != nil {
		t.Fatal(err)
	}
	leader := leaderOf(st)
	victim := c.Node(leader)
	victim.Kill()
	killed := time.Now()
	t.Logf("SIGKILLed the etcd leader %s", leader)
	for _, n := range c.Live() {
		waitWritable(t, n, "leader", 30*time.Second)
	}
	t.Logf("every survivor took a write %v after the kill", time.Since(killed).Round(time.Millisecond))
	live := c.Live()
	overwrite(t, live[0], "leader", "l/", 20, 60, 1, want)
	overwrite(t, live[1], "leader", "l/", 60, 80, 1, want)
	for _, n := range live {
		readAll(t, n, "leader", want)
	}
	c.WaitState(leader, "down")
	for _, n := range c.Live() {
		start := time.Now()
		st, err := c.Status(n)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("cluster status through %s took %v", n.Name, d)
		}
		if l := leaderOf(st); l == "" || l == leader {
			t.Errorf("cluster status through %s: etcd leader %q, want a new one: %+v", n.Name, l, st.Etcd)
		}
	}
}

func leaderOf(st *client.ClusterStatus) string {
	for _, m := range st.Etcd {
		if m.Leader {
			return m.Name
		}
	}
	return ""
}

// waitWritable retries a PUT through n until one succeeds.
func waitWritable(t *testing.T, n *cnode, bucket string, timeout time.Duration) {
	t.Helper()
	sc := sdkClient(n.server)
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s3Put(ctx, sc, bucket, "probe-"+n.Name, []byte("probe"))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write through %s within %v: %v", n.Name, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
