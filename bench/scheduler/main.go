// Command scheduler benchmarks scheduler.Place on simulated clusters of
// thousands of nodes: placements per second and the time per placement
// (p50, p99), for jobs placed in one call of many tasks and for one task a
// call, against a naive reference measured in the same run (one scan of
// every node per task, checked to give the same plans) and against
// Nomad's published figures (printed, not run). Run from the repository
// root:
//
//	go run ./bench/scheduler [-nodes 5000,10000] [-tasks 100000] [-job 1000] [-single 100000] [-naive 20000]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/insitu-cloud/insitu/internal/scheduler"
)

type config struct {
	nodes      []int
	tasks      int // tasks placed in job-sized calls
	job        int // tasks per job call
	single     int // tasks placed one per call
	naive      int // tasks the naive reference places per mode
	seed       uint64
	cpuprofile string
}

func main() {
	var cfg config
	var nodes string
	flag.StringVar(&nodes, "nodes", "5000,10000", "cluster sizes, comma-separated")
	flag.IntVar(&cfg.tasks, "tasks", 100000, "tasks placed in calls of -job tasks")
	flag.IntVar(&cfg.job, "job", 1000, "tasks per call (one job)")
	flag.IntVar(&cfg.single, "single", 100000, "tasks placed one per call")
	flag.IntVar(&cfg.naive, "naive", 20000, "tasks the naive reference places in each mode (it is slow)")
	flag.Uint64Var(&cfg.seed, "seed", 1, "workload seed")
	flag.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	for _, f := range strings.Split(nodes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench/scheduler: bad -nodes %q\n", nodes)
			os.Exit(2)
		}
		cfg.nodes = append(cfg.nodes, n)
	}
	if cfg.job < 1 || cfg.tasks < 1 || cfg.single < 0 || cfg.naive < 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./bench/scheduler [flags]; see -h")
		os.Exit(2)
	}
	if err := run(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/scheduler:", err)
		os.Exit(1)
	}
}

func run(cfg *config) error {
	printMachine(cfg)
	stop, err := startProfile(cfg)
	if err != nil {
		return err
	}
	defer stop()
	var rows []result
	for _, n := range cfg.nodes {
		w := newWorkload(cfg.seed, n, max(cfg.tasks, cfg.single, cfg.naive), cfg.job)
		rs, err := measureSize(cfg, w)
		if err != nil {
			return err
		}
		rows = append(rows, rs...)
	}
	report(cfg, rows)
	return nil
}

// measureSize runs every row on one cluster size: Place and the naive
// reference, in job-sized calls and one task a call.
func measureSize(cfg *config, w workload) ([]result, error) {
	type row struct {
		impl         string
		place, check placeFunc
		batch, n     int
	}
	var rows []result
	for _, x := range []row{
		{"scheduler.Place", scheduler.Place, nil, cfg.job, cfg.tasks},
		{"naive scan", naivePlace, scheduler.Place, cfg.job, cfg.naive},
		{"scheduler.Place", scheduler.Place, nil, 1, cfg.single},
		{"naive scan", naivePlace, scheduler.Place, 1, cfg.naive},
	} {
		if x.n == 0 {
			continue
		}
		r, err := measure(w, x.impl, x.place, x.check, x.batch, x.n)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "%d nodes, %s, calls of %d: %.0f placements/s\n", r.nodes, r.impl, r.batch, r.rate())
		rows = append(rows, r)
	}
	return rows, nil
}

// startProfile starts a CPU profile of the whole run when asked (the
// naive rows show as naivePlace in it); the returned func ends it.
func startProfile(cfg *config) (func(), error) {
	if cfg.cpuprofile == "" {
		return func() {}, nil
	}
	f, err := os.Create(cfg.cpuprofile)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
