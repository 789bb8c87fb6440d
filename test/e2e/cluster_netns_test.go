package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/client"
)

// netPartition is a network namespace joined to the host by a veth pair:
// HostIP on the host's end, NSIP inside; Cut and Heal take the host's end
// down and up.
type netPartition struct {
	t            *testing.T
	NS, HostIf   string
	HostIP, NSIP string
	ip           string
	cut          bool
}

// newPartition makes the namespace and the link, removed at cleanup. It
// skips when not root or without ip(8).
func newPartition(t *testing.T) *netPartition {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network partition test: needs root for ip netns (run as root, as CI does)")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("network partition test: ip(8) not found (apt-get install iproute2)")
	}
	id := os.Getpid() % 100000
	sub := 1 + os.Getpid()%250
	p := &netPartition{t: t, ip: ip, NS: fmt.Sprintf("insitu-e2e-%d", id), HostIf: fmt.Sprintf("ie2e%dh", id),
		HostIP: fmt.Sprintf("10.211.%d.1", sub), NSIP: fmt.Sprintf("10.211.%d.2", sub)}
	nsIf := fmt.Sprintf("ie2e%dn", id)
	if out, err := p.run("netns", "add", p.NS); err != nil {
		t.Skipf("network partition test: cannot make a network namespace here: %v %s", err, out)
	}
	subnet := fmt.Sprintf("10.211.%d.0/30", sub)
	t.Cleanup(func() {
		_, _ = p.run("link", "del", p.HostIf)
		_, _ = p.run("netns", "del", p.NS)
		_, _ = p.run("route", "del", "blackhole", subnet, "metric", "4000")
	})
	for _, args := range [][]string{
		{"link", "add", p.HostIf, "type", "veth", "peer", "name", nsIf},
		{"link", "set", nsIf, "netns", p.NS},
		{"addr", "add", p.HostIP + "/30", "dev", p.HostIf},
		// With the link down its route goes, and packets for the
		// namespace would follow the default route: to whatever answers
		// there (this machine's gateway answers HTTP on most ports).
		// This route, used only then, drops them, as a partition does.
		{"route", "add", "blackhole", subnet, "metric", "4000"},
		{"link", "set", p.HostIf, "up"},
		{"netns", "exec", p.NS, ip, "addr", "add", p.NSIP + "/30", "dev", nsIf},
		{"netns", "exec", p.NS, ip, "link", "set", nsIf, "up"},
		{"netns", "exec", p.NS, ip, "link", "set", "lo", "up"},
	} {
		if out, err := p.run(args...); err != nil {
			t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	return p
}

func (p *netPartition) run(args ...string) (string, error) {
	out, err := exec.Command(p.ip, args...).CombinedOutput()
	return string(out), err
}

// Cut takes the link down; Heal brings it back.
func (p *netPartition) Cut()  { p.set("down") }
func (p *netPartition) Heal() { p.set("up") }

func (p *netPartition) set(state string) {
	p.t.Helper()
	if out, err := p.run("link", "set", p.HostIf, state); err != nil {
		p.t.Fatalf("ip link set %s %s: %v %s", p.HostIf, state, err, out)
	}
}

// A real partition: node n1 (an etcd voter, alone in zone b) runs in its
// own network namespace. With its link cut, the majority side keeps
// serving reads and writes, sees n1 down and replaces its etcd member;
// healed, n1 is up again (as an etcd client) and no node serves bytes
// older than the last acknowledged write.
func TestClusterNetworkPartition(t *testing.T) {
	p := newPartition(t)
	c := newCluster(t, 2, p.HostIP)
	c.Add("a")
	isolated := c.AddWith("b", serverOpts{Host: p.NSIP, Wrap: []string{p.ip, "netns", "exec", p.NS}})
	c.Add("c")
	c.Add("c")
	c.WaitUp(4)
	createBucket(t, c.Nodes[0], "part")
	want := map[string][]byte{}
	overwrite(t, c.Nodes[0], "part", "q/", 0, 60, 0, want)
	readAll(t, isolated, "part", want)

	p.Cut()
	cut := time.Now()
	c.pauseView(isolated, true) // unreachable: poll the others
	overwrite(t, c.Node("n2"), "part", "q/", 0, 30, 1, want)
	c.WaitState(isolated.Name, "down")
	t.Logf("the majority saw %s down %v after the cut", isolated.Name, time.Since(cut).Round(100*time.Millisecond))
	overwrite(t, c.Node("n3"), "part", "q/", 30, 60, 1, want)
	overwrite(t, c.Node("n0"), "part", "q/", 60, 80, 1, want)
	for _, n := range c.Live() {
		readAll(t, n, "part", want)
	}
	noStaleReads(t, isolated, "part", want, 10)
	// Cut off long enough, its etcd member is replaced by the autopilot:
	// healed, it must come back as an etcd client of the new members.
	c.Wait(2*time.Minute, isolated.Name+" replaced as an etcd voter", func(st *client.ClusterStatus) bool {
		for _, m := range st.Etcd {
			if m.Name == isolated.Name {
				return false
			}
		}
		return len(st.Etcd) == 3
	})

	p.Heal()
	c.pauseView(isolated, false)
	c.WaitUp(4)
	for _, n := range c.Nodes {
		readAll(t, n, "part", want)
	}
}

// noStaleReads reads the first n keys of want through node at once: a
// read may fail (the node is cut off from the etcd majority) but must not
// return other bytes than want's.
func noStaleReads(t *testing.T, node *cnode, bucket string, want map[string][]byte, n int) {
	t.Helper()
	keys := sortedKeys(want)[:n]
	sc := sdkClient(node.server)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got, err := s3Get(ctx, sc, bucket, k)
			if err == nil && !bytes.Equal(got, want[k]) {
				t.Errorf("the cut-off %s served stale bytes:%s", node.Name, describeRead(k, got, want[k], nil))
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	t.Logf("reads through the cut-off %s: %d of %d failed, none stale", node.Name, failed, len(keys))
}
