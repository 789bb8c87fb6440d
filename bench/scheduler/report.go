package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Nomad's published scheduling figures (hashicorp.com/c1m, /c2m), as issue
// 9 quotes them. Nomad is not run here; see BENCHMARKS.md for what they
// measure.
const (
	nomadC1M = 3750.0 // containers scheduled/s, C1M (2016): 1,000,000 on 5,000 hosts
	nomadC2M = 1500.0 // containers scheduled/s, C2M (2020): 2,000,000 on 6,100 hosts
)

// goal is issue 9's target at 5,000 nodes on this machine.
const goal = 37500.0

// printMachine prints what the results depend on.
func printMachine(cfg *config) {
	model := "?"
	if f, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(f), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("machine: %d CPUs (%s), %s %s/%s, GOMAXPROCS %d\n", runtime.NumCPU(), model,
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	if f := strings.Fields(string(load)); len(f) >= 3 {
		fmt.Printf("load average before the run: %s\n", strings.Join(f[:3], " "))
	}
	fmt.Printf("workload: seed %d, jobs of %d tasks, %d tasks in job calls, %d in single-task calls, naive on the first %d of each\n",
		cfg.seed, cfg.job, cfg.tasks, cfg.single, cfg.naive)
}

// report prints the table: one row per cluster size, mode and
// implementation, then Nomad's figures as reference rows.
func report(cfg *config, rows []result) {
	fmt.Println()
	fmt.Println("| nodes | tasks per call | implementation | placements | placements/s | p50 per placement | p99 per placement | local | unplaced | vs naive | vs Nomad C1M |")
	fmt.Println("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	naive := map[[2]int]float64{}
	for _, r := range rows {
		if r.impl == "naive scan" {
			naive[[2]int{r.nodes, r.batch}] = r.rate()
		}
	}
	for _, r := range rows {
		vs := "-"
		if nv := naive[[2]int{r.nodes, r.batch}]; nv > 0 && r.impl != "naive scan" {
			vs = fmt.Sprintf("%.1fx", r.rate()/nv)
		}
		flag := ""
		if r.nodes == 5000 && r.impl == "scheduler.Place" && r.rate() < goal {
			flag = " (<goal)"
		}
		fmt.Printf("| %d | %d | %s | %d | %.0f%s | %s | %s | %.1f%% | %d | %s | %.1fx |\n",
			r.nodes, r.batch, r.impl, r.placed, r.rate(), flag, fmtDur(r.quantile(0.50)), fmtDur(r.quantile(0.99)),
			100*float64(r.local)/float64(r.placed), r.unplaced, vs, r.rate()/nomadC1M)
	}
	fmt.Printf("| 5000 | - | Nomad C1M (published, not run) | 1000000 | %.0f | - | - | - | - | - | 1.0x |\n", nomadC1M)
	fmt.Printf("| 6100 | - | Nomad C2M (published, not run) | 2000000 | %.0f | - | - | - | - | - | %.1fx |\n", nomadC2M, nomadC2M/nomadC1M)
	fmt.Printf("\ngoal: at least %.0f placements/s at 5,000 nodes (10x Nomad C1M)\n\n", goal)
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
}
