package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insitu-cloud/insitu/bench/internal/s3load"
	"github.com/insitu-cloud/insitu/internal/client"
)

// runFailure measures failure detection and repair: it starts the
// cluster, writes the objects, waits for a clean repair pass everywhere,
// SIGKILLs one node, and times (1) kill -> the status shows the node not
// up, (2) detection -> every surviving node finished a pass with
// under_replicated 0 and the copies made add up to the replicas the dead
// node held, and (3) detection -> every surviving node finished a second
// such pass (the first pass that surely started after the detection).
func runFailure(ctx context.Context, cfg *config, root string) error {
	t, err := startWithBucket(ctx, cfg, root, "node")
	defer t.stop()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := seed(ctx, t, cfg.objects, cfg.objSize); err != nil {
		return fmt.Errorf("writing %d objects: %w", cfg.objects, err)
	}
	written := time.Now()
	fmt.Fprintf(os.Stderr, "wrote %d x %s in %.1fs; waiting for a clean repair pass on every node ...\n",
		cfg.objects, s3load.SizeLabel(cfg.objSize), written.Sub(start).Seconds())
	watch := t.procs[0]
	if cfg.kill == 0 {
		watch = t.procs[1]
	}
	victim := t.procs[cfg.kill]
	// Passes follow events, so none need follow writes that reached
	// every target: settled is every node up with nothing short.
	before, err := waitStatus(ctx, watch, 2*time.Minute, "a settled cluster after the writes", func(st *client.ClusterStatus) bool {
		return countUp(st) == cfg.nodes && st.UnderReplicated == 0
	})
	if err != nil {
		return err
	}
	lost, err := heldBy(ctx, watch, victim.name, cfg.objects)
	if err != nil {
		return err
	}
	copied0 := copiedBy(before, victim.name)
	return measureFailure(ctx, cfg, watch, victim, lost, copied0)
}

// measureFailure kills victim and times detection and repair as seen
// through watch; lost is how many replicas the victim held.
func measureFailure(ctx context.Context, cfg *config, watch, victim *proc, lost, copied0 int64) error {
	killed := time.Now()
	if err := victim.kill(); err != nil {
		return fmt.Errorf("SIGKILL %s: %w", victim.name, err)
	}
	st, err := waitStatus(ctx, watch, 2*time.Minute, victim.name+" not up", func(st *client.ClusterStatus) bool {
		return nodeOf(st, victim.name).State != "up"
	})
	if err != nil {
		return err
	}
	detected := time.Now()
	passes0 := map[string]int64{}
	for _, n := range st.Nodes {
		passes0[n.Name] = n.Repair.Passes
	}
	repaired := func(extra int64) func(*client.ClusterStatus) bool {
		return func(st *client.ClusterStatus) bool {
			for _, n := range st.Nodes {
				if n.Name != victim.name && (n.State != "up" || n.Repair.Passes < passes0[n.Name]+extra) {
					return false
				}
			}
			return st.UnderReplicated == 0 && copiedBy(st, victim.name)-copied0 >= lost
		}
	}
	first, err := waitStatus(ctx, watch, 5*time.Minute, "repair", repaired(1))
	if err != nil {
		return err
	}
	repairedAt := time.Now()
	if _, err := waitStatus(ctx, watch, 5*time.Minute, "a second pass", repaired(2)); err != nil {
		return err
	}
	strictAt := time.Now()
	n, err := listCount(ctx, watch)
	if err != nil {
		return fmt.Errorf("listing after repair: %w", err)
	}
	printFailure(cfg, victim, nodeOf(st, victim.name).State, lost, copiedBy(first, victim.name)-copied0, n,
		detected.Sub(killed), repairedAt.Sub(detected), strictAt.Sub(detected))
	return nil
}

// heldBy counts the objects obj-000000 ... that node holds, asking p
// where each one is (16 at a time).
func heldBy(ctx context.Context, p *proc, node string, n int) (int64, error) {
	api, err := apiClient(p)
	if err != nil {
		return 0, err
	}
	var held atomic.Int64
	var once sync.Once
	var first error
	work := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				names, err := api.Replicas(ctx, bucket, fmt.Sprintf("obj-%06d", i))
				if err != nil {
					once.Do(func() { first = err })
				}
				if slices.Contains(names, node) {
					held.Add(1)
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if first != nil {
		return 0, fmt.Errorf("asking where the objects are: %w", first)
	}
	return held.Load(), ctx.Err()
}

func printFailure(cfg *config, victim *proc, state string, lost, copied, listed int64, detect, repair, strict time.Duration) {
	fmt.Printf("cluster failure: %d nodes (one zone each), %d replicas, %d objects of %s; SIGKILL %s\n",
		cfg.nodes, cfg.replicas, cfg.objects, s3load.SizeLabel(cfg.objSize), victim.name)
	fmt.Printf("insitu %s (%s); load average %s\n\n", cfg.insitu, s3load.VersionOf(cfg.insitu, "version"), s3load.LoadAvg())
	head := []string{"measure", "time"}
	body := [][]string{
		{"node down -> detected (status shows " + state + ")", secs(detect)},
		{"detected -> under_replicated 0, first pass on every node", secs(repair)},
		{"detected -> under_replicated 0, a pass begun after detection on every node", secs(strict)},
	}
	s3load.Table(os.Stdout, cfg.markdown, head, body)
	fmt.Printf("\nreplicas held by %s: %d; copies made by the survivors: %d; keys listed after repair: %d of %d\n",
		victim.name, lost, copied, listed, cfg.objects)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// nodeOf finds name in st; a node missing from it reads as state "gone".
func nodeOf(st *client.ClusterStatus, name string) client.ClusterNode {
	for _, n := range st.Nodes {
		if n.Name == name {
			return n
		}
	}
	return client.ClusterNode{Name: name, State: "gone"}
}

// copiedBy sums the copies made by every node but skip.
func copiedBy(st *client.ClusterStatus, skip string) int64 {
	var sum int64
	for _, n := range st.Nodes {
		if n.Name != skip {
			sum += n.Repair.Copied
		}
	}
	return sum
}

func listCount(ctx context.Context, p *proc) (int64, error) {
	return s3load.NewLoader(p.endpoint, accessKey, secretKey, false).ListAll(ctx, bucket)
}

// seed writes n objects of size bytes, 16 at a time, round-robin over the
// nodes.
func seed(ctx context.Context, t *target, n int, size int64) error {
	return seedRange(ctx, t, 0, n, size)
}

// seedRange writes objects obj-FROM ... obj-(TO-1) of size bytes, 16 at a
// time, round-robin over the nodes.
func seedRange(ctx context.Context, t *target, from, to int, size int64) error {
	payload := s3load.RandomBytes(size)
	work := make(chan int)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := t.client(w, i).Put(ctx, bucket, fmt.Sprintf("obj-%06d", i), payload); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := from; i < to && ctx.Err() == nil; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// startWithBucket starts the -nodes cluster (-replicas) under name and
// creates the bench's bucket. The target is returned even on error, for
// its stop.
func startWithBucket(ctx context.Context, cfg *config, root, name string) (*target, error) {
	fmt.Fprintf(os.Stderr, "starting %d nodes ...\n", cfg.nodes)
	t, err := startInsitu(ctx, cfg, root, insituSpec{name: name, nodes: cfg.nodes, replicas: cfg.replicas})
	if err != nil {
		return t, err
	}
	return t, t.clients[0].CreateBucket(ctx, bucket)
}
