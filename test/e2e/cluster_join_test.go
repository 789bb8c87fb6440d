package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/cluster"
)

// churn is a client that overwrites keys and reads each back through
// another node until stopped, checking every read against the last
// acknowledged write (one writer per key, so nothing else is right).
type churn struct {
	bucket string
	keys   int
	nodes  []*cnode
	l      *ledger
	writes atomic.Int64
	reads  atomic.Int64
	mu     sync.Mutex
	errs   []string
}

func (ch *churn) fail(format string, args ...any) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.errs = append(ch.errs, fmt.Sprintf(format, args...))
}

// run writes and reads until ctx is done.
func (ch *churn) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		k := fmt.Sprintf("j/%03d", i%ch.keys)
		w, r := ch.nodes[i%len(ch.nodes)], ch.nodes[(i+1)%len(ch.nodes)]
		b := clusterBody(i%ch.keys, i)
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s3Put(cctx, sdkClient(w.server), ch.bucket, k, b)
		cancel()
		if err != nil {
			ch.fail("put %s through %s: %v", k, w.Name, err)
			continue
		}
		ch.l.set(k, b)
		ch.writes.Add(1)
		cctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
		got, err := s3Get(cctx, sdkClient(r.server), ch.bucket, k)
		cancel()
		if err != nil || !bytes.Equal(got, b) {
			ch.fail("read after write through %s:%s", r.Name, describeRead(k, got, b, err))
		}
		ch.reads.Add(1)
	}
}

// A node joins while a client writes and reads: the cluster rebalances
// onto it, no acknowledged write is lost, no read is stale, and the keys
// whose placement now includes the new node are held there.
func TestClusterJoinRebalances(t *testing.T) {
	c := startCluster(t, 2, "a", "b", "c")
	createBucket(t, c.Nodes[0], "join")
	l := newLedger()
	seed := map[string][]byte{}
	overwrite(t, c.Nodes[0], "join", "j/", 0, 150, 0, seed)
	for k, b := range seed {
		l.set(k, b)
	}
	ch := &churn{bucket: "join", keys: 150, nodes: append([]*cnode(nil), c.Nodes...), l: l}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ch.run(ctx) }()
	defer func() { stop(); <-done }()

	time.Sleep(2 * time.Second)
	newcomer := c.Add("d")
	c.WaitUp(4)
	c.WaitRepaired(90 * time.Second)
	time.Sleep(2 * time.Second)
	stop()
	<-done
	t.Logf("client: %d writes, %d reads during the join", ch.writes.Load(), ch.reads.Load())
	if len(ch.errs) > 0 {
		t.Errorf("client: %d errors, e.g.:\n%s", len(ch.errs), strings.Join(ch.errs[:min(10, len(ch.errs))], "\n"))
	}
	c.WaitRepaired(60 * time.Second) // the last writes placed and settled
	want := l.snapshot()
	for _, n := range c.Nodes {
		readAll(t, n, "join", want)
	}
	reps := c.CheckSpread(newcomer, "join", sortedKeys(want), 2)
	checkPlacedOn(t, c, reps, newcomer.Name)
}

// checkPlacedOn checks that every key whose placement (equal weights: the
// nodes share one disk) includes node is held there, and that some are.
func checkPlacedOn(t *testing.T, c *e2eCluster, reps map[string][]string, node string) {
	t.Helper()
	var ms []cluster.Member
	for _, n := range c.Nodes {
		ms = append(ms, cluster.Member{Name: n.Name, Zone: n.Zone, Weight: 1})
	}
	placed, held := 0, 0
	for k, names := range reps {
		for _, m := range cluster.Place(ms, "join", k, c.Replicas) {
			if m.Name != node {
				continue
			}
			placed++
			if strings.Contains(","+strings.Join(names, ",")+",", ","+node+",") {
				held++
			} else {
				t.Errorf("%s is placed on %s but held by %v", k, node, names)
			}
		}
	}
	t.Logf("%d of %d keys placed on %s, %d held there", placed, len(reps), node, held)
	if placed == 0 {
		t.Errorf("no key is placed on %s", node)
	}
}
