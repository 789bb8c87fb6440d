// Command ui measures the dashboard's server time per page on a node that
// holds a bucket of 100,000 objects and 10,000 run records (issue 12's
// goal: under 50 ms a page). There is no peer to compare with: the goal
// is absolute, and the table prints each page's ratio to it.
//
// It builds ./cmd/insitu, starts it, fills a bucket over the S3 API (32
// writers), stops it, writes the run records straight into the node's
// control store (meta.Store, 128 a batch), starts it again, pushes the
// example apps, starts one job and one service, signs in and times each
// page over loopback (the client's wall time, an upper bound of the
// server's). Run from the repository root:
//
//	go run ./bench/ui [-objects 100000] [-runs 10000] [-reps 30]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/insitu-cloud/insitu/bench/internal/benchnode"
)

type config struct {
	objects, runs, reps, writers int
	insitu, dir                  string
	goal                         time.Duration
}

func main() {
	var cfg config
	flag.IntVar(&cfg.objects, "objects", 100_000, "objects in the big bucket")
	flag.IntVar(&cfg.runs, "runs", 10_000, "run records")
	flag.IntVar(&cfg.reps, "reps", 30, "timed loads of each page (after 3 untimed)")
	flag.IntVar(&cfg.writers, "writers", 32, "concurrent PUTs while filling the bucket")
	flag.StringVar(&cfg.insitu, "insitu", os.Getenv("INSITU_BENCH_INSITU"), "insitu binary; empty builds ./cmd/insitu [INSITU_BENCH_INSITU]")
	flag.StringVar(&cfg.dir, "dir", "", "work directory (kept; default a temporary one, removed)")
	flag.DurationVar(&cfg.goal, "goal", 50*time.Millisecond, "the goal per page")
	flag.Parse()
	if err := run(context.Background(), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ui:", err)
		os.Exit(1)
	}
}

const ak, sk = "AKBENCHUIROOT0000000", "bench-ui-root-secret-key-0000000000000000"

func run(ctx context.Context, cfg *config) error {
	dir := cfg.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "insitu-bench-ui-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	bin, err := benchnode.Build(ctx, root, dir, cfg.insitu)
	if err != nil {
		return err
	}
	n, err := benchnode.Start(bin, dir, ak, sk)
	if err != nil {
		return err
	}
	t0 := time.Now()
	err = fill(ctx, n, cfg.objects, cfg.writers)
	n.Stop()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "filled %d objects in %v\n", cfg.objects, time.Since(t0).Round(time.Second))
	t0 = time.Now()
	if err := seedRuns(ctx, filepath.Join(dir, "insitu-data", "control"), cfg.runs); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d run records in %v\n", cfg.runs, time.Since(t0).Round(time.Millisecond))
	if n, err = benchnode.Start(bin, dir, ak, sk); err != nil {
		return err
	}
	defer n.Stop()
	w, err := prepare(ctx, n, root)
	if err != nil {
		return err
	}
	rows, err := measure(ctx, n, w, cfg.reps)
	if err != nil {
		return err
	}
	report(os.Stdout, cfg, rows)
	return nil
}
