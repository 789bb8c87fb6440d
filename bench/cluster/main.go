// Command cluster measures insitu as a cluster (DESIGN.md, Cluster) on one
// machine, in two modes.
//
// -mode throughput (the default) starts, in one run and side by side, a
// single insitu node ("one"), 3-node insitu clusters with 2 and 3 replicas
// ("r2", "r3", one zone per node) and MinIO in distributed mode (4
// processes on loopback, one drive each, erasure coded), then runs S3 PUT
// and GET of 4 KiB and 16 MiB objects at concurrency 16 against each,
// back to back per row, with requests sent round-robin across each
// system's endpoints. It prints throughput, the ratios of the clusters to
// MinIO and to one node, and latencies.
//
// -mode failure starts a 4-node cluster with 2 replicas, writes 10,000
// small objects, SIGKILLs one node and measures how long the cluster
// takes to mark it down (lease expiry) and then to restore every replica
// (under_replicated back to 0 after repair passes that began after the
// detection).
//
// -mode idle starts a 3-node cluster with 3 replicas, fills it in stages
// (-idle-objects 4 KiB objects, then -idle-large 16 MiB ones) and, once
// each stage has settled, prints the CPU seconds per minute each server
// process uses (utime+stime from /proc/PID/stat) while no client calls.
//
//	go run ./bench/cluster -minio /tmp/minio-bin/minio
//	go run ./bench/cluster -mode failure
//	go run ./bench/cluster -mode idle
//
// Nothing is downloaded at run time: the minio binary comes from -minio,
// INSITU_BENCH_MINIO, PATH or $(go env GOPATH)/bin. The insitu binary comes
// from -insitu or is built from this module (run from its root). All data
// lives under one temporary directory, removed at the end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/insitu-cloud/insitu/bench/internal/benchnode"
	"github.com/insitu-cloud/insitu/bench/internal/s3load"
)

// config is the parsed command line.
type config struct {
	mode     string
	duration time.Duration
	warmup   time.Duration
	concs    []int
	sizes    []int64
	targets  []string
	insitu   string
	minio    string
	dir      string
	signed   bool
	markdown bool
	keepLogs bool
	logLevel string
	// failure mode
	nodes    int
	objects  int
	objSize  int64
	kill     int
	replicas int
	// idle mode
	idleObjects []int
	idleLarge   int
	idleWindow  time.Duration
	idleSettle  time.Duration
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func parseFlags() (*config, error) {
	c := &config{}
	var concs, sizes, targets, idleObjects string
	flag.StringVar(&c.mode, "mode", "throughput", "throughput (S3 PUT/GET against MinIO distributed), failure (detection and repair times) or idle (CPU of an idle cluster by what it holds)")
	flag.DurationVar(&c.duration, "duration", 8*time.Second, "measured time per row and system")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each row")
	flag.StringVar(&concs, "concurrency", "16", "comma-separated concurrency levels")
	flag.StringVar(&sizes, "sizes", "4KiB,16MiB", "comma-separated object sizes (B, KiB, MiB, GiB)")
	flag.StringVar(&targets, "targets", "one,r2,r3,minio", "systems to run: one (single insitu node), r2, r3 (3-node insitu cluster with 2 or 3 replicas), minio (4-process MinIO distributed)")
	flag.StringVar(&c.insitu, "insitu", os.Getenv("INSITU_BENCH_INSITU"), "insitu binary; empty builds ./cmd/insitu [INSITU_BENCH_INSITU]")
	flag.StringVar(&c.minio, "minio", os.Getenv("INSITU_BENCH_MINIO"), "minio binary; empty looks up PATH and $(go env GOPATH)/bin [INSITU_BENCH_MINIO]")
	flag.StringVar(&c.dir, "dir", os.TempDir(), "parent directory for all data (one filesystem)")
	flag.BoolVar(&c.signed, "signed", false, "sign PUT payloads (SHA-256 of the body) instead of UNSIGNED-PAYLOAD")
	flag.BoolVar(&c.markdown, "markdown", false, "print the tables as Markdown")
	flag.BoolVar(&c.keepLogs, "keep-logs", false, "keep the data directory and the servers' logs (the path is printed)")
	flag.StringVar(&c.logLevel, "insitu-log-level", "info", "insitu --log-level (info logs every request, its default)")
	flag.IntVar(&c.nodes, "nodes", 4, "failure mode: cluster nodes (one zone each)")
	flag.IntVar(&c.replicas, "replicas", 2, "failure mode: replicas")
	flag.IntVar(&c.objects, "objects", 10000, "failure mode: objects written before the kill")
	flag.Int64Var(&c.objSize, "object-size", 4096, "failure mode: size in bytes of each object")
	flag.IntVar(&c.kill, "kill", -1, "failure mode: index of the node to SIGKILL (default the last)")
	flag.StringVar(&idleObjects, "idle-objects", "0,3000,30000", "idle mode: 4 KiB objects held at each measured stage (cumulative)")
	flag.IntVar(&c.idleLarge, "idle-large", 200, "idle mode: 16 MiB objects added for a last stage (0: none)")
	flag.DurationVar(&c.idleWindow, "idle-window", 60*time.Second, "idle mode: measured idle time per stage")
	flag.DurationVar(&c.idleSettle, "idle-settle", 15*time.Second, "idle mode: wait after under_replicated is 0 before measuring")
	flag.Parse()
	if c.mode == "idle" {
		idleDefaults(c)
	}
	if flag.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if err := c.checkIdle(idleObjects); err != nil {
		return nil, err
	}
	return c, c.check(concs, sizes, targets)
}

// parseCounts parses "0,3000,30000" into non-decreasing counts >= 0.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || (len(out) > 0 && n < out[len(out)-1]) {
			return nil, fmt.Errorf("%q: want counts >= 0 in increasing order", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// idleDefaults makes idle mode a 3-node cluster with 3 replicas unless
// -nodes or -replicas say otherwise.
func idleDefaults(c *config) {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["nodes"] {
		c.nodes = 3
	}
	if !set["replicas"] {
		c.replicas = 3
	}
}

// checkIdle parses -idle-objects and checks the idle mode's values.
func (c *config) checkIdle(objects string) error {
	var err error
	c.idleObjects, err = parseCounts(objects)
	switch {
	case err != nil:
		return fmt.Errorf("-idle-objects: %w", err)
	case c.idleLarge < 0 || c.idleWindow <= 0 || c.idleSettle < 0:
		return errors.New("-idle-large must be >= 0, -idle-window > 0, -idle-settle >= 0")
	}
	return nil
}

// check validates and fills the parsed lists.
func (c *config) check(concs, sizes, targets string) error {
	var err error
	if c.concs, err = s3load.ParseInts(concs); err != nil {
		return fmt.Errorf("-concurrency: %w", err)
	}
	if c.sizes, err = s3load.ParseSizes(sizes); err != nil {
		return fmt.Errorf("-sizes: %w", err)
	}
	for _, s := range strings.Split(targets, ",") {
		switch s = strings.TrimSpace(s); s {
		case "one", "r2", "r3", "minio":
			c.targets = append(c.targets, s)
		default:
			return fmt.Errorf("-targets: unknown system %q (want one, r2, r3, minio)", s)
		}
	}
	switch {
	case c.mode != "throughput" && c.mode != "failure" && c.mode != "idle":
		return fmt.Errorf("-mode %q: want throughput, failure or idle", c.mode)
	case c.duration <= 0 || c.warmup < 0:
		return errors.New("-duration must be > 0 and -warmup >= 0")
	case c.nodes < 2 || c.replicas < 1 || c.replicas > c.nodes || c.objects < 1 || c.objSize < 1:
		return errors.New("-nodes must be >= 2, 1 <= -replicas <= -nodes, -objects and -object-size >= 1")
	case c.kill >= c.nodes:
		return fmt.Errorf("-kill %d: the cluster has nodes 0..%d", c.kill, c.nodes-1)
	}
	if c.kill < 0 {
		c.kill = c.nodes - 1
	}
	return nil
}

func run() error {
	cfg, err := parseFlags()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := os.MkdirTemp(cfg.dir, "clusterbench-")
	if err != nil {
		return err
	}
	defer func() {
		if cfg.keepLogs {
			fmt.Fprintln(os.Stderr, "data and logs kept under", root)
			return
		}
		if err := os.RemoveAll(root); err != nil {
			fmt.Fprintln(os.Stderr, "cluster: removing", root, err)
		}
	}()
	if cfg.insitu, err = benchnode.Build(ctx, ".", root, cfg.insitu); err != nil {
		return err
	}
	switch cfg.mode {
	case "failure":
		return runFailure(ctx, cfg, root)
	case "idle":
		return runIdle(ctx, cfg, root)
	}
	return runThroughput(ctx, cfg, root)
}
