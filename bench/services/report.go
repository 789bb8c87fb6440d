package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// printMachine prints what the results depend on, and the load before the
// run (other work on the machine skews every row).
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
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("machine: %d CPUs (%s), Linux %s, %s %s/%s\n", runtime.NumCPU(), model,
		strings.TrimSpace(string(kernel)), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("load average before the run: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	gen := "Go client (keep-alive, one goroutine per connection)"
	if cfg.load == "wrk" {
		v, _ := exec.Command("wrk", "--version").CombinedOutput()
		first, _, _ := strings.Cut(string(v), "\n")
		gen = fmt.Sprintf("%s, -t%d", strings.TrimSpace(strings.SplitN(first, "Copyright", 2)[0]), cfg.threads)
	}
	fmt.Printf("load: %s, %v connections, %v warm-up + %v measured per row and round, %d round(s), GET /svc/hello/ on 127.0.0.1\n",
		gen, cfg.connsList, cfg.warmup, cfg.duration, max(cfg.rounds, 1))
}

// report prints the table and the ratios against the goals.
func report(cfg *config, results []result) {
	fmt.Printf("\n%d connection(s):\n\n", cfg.conns)
	fmt.Println("| row | requests/s | p50 | p99 | errors | server CPU per request | of which workers | what |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---|")
	byName := map[string]result{}
	for _, r := range results {
		byName[r.name] = r
		cpu, workers := "-", "-"
		// In-process rows share this process with the Go load client.
		if r.load.requests > 0 && (cfg.load == "wrk" || strings.HasPrefix(r.name, "insitu")) {
			cpu = perRequest(r.cpu, r.load.requests)
			if r.target.workers {
				workers = perRequest(r.workerCPU, r.load.requests)
			}
		}
		fmt.Printf("| %s | %.0f | %s | %s | %d | %s | %s | %s |\n", r.name, r.load.rps, fmtDur(r.load.p50), fmtDur(r.load.p99),
			r.load.errors, cpu, workers, r.note)
	}
	fmt.Println()
	for _, name := range []string{"insitu", "insitu-direct"} {
		if in, ok := byName[name]; ok {
			reportGoals(name, in, byName)
		}
	}
}

// reportGoals prints one insitu row's ratios against the goals.
func reportGoals(name string, in result, byName map[string]result) {
	pad := func(s string) string { return fmt.Sprintf("%-18s", s) }
	if c, ok := byName["cgi"]; ok && c.load.rps > 0 {
		x := in.load.rps / c.load.rps
		fmt.Printf("%s%6.2fx throughput (goal >= 10x: %s; stretch 20x)\n", pad(name+" / cgi:"), x, verdict(x >= 10))
	}
	if c, ok := byName["ceiling"]; ok && c.load.rps > 0 {
		x := in.load.rps / c.load.rps
		fmt.Printf("%s%6.2fx throughput (goal >= 0.5x: %s)\n", pad(name+" / ceiling:"), x, verdict(x >= 0.5))
	}
	fmt.Printf("%s%s (goal < 1 ms: %s)\n", pad(name+" p50:"), fmtDur(in.load.p50), verdict(in.load.p50 < time.Millisecond))
	if in.load.requests > 0 {
		per := in.cpu / time.Duration(in.load.requests)
		fmt.Printf("%s%s per request (goal <= 100 µs: %s)\n", pad(name+" CPU:"), perRequest(in.cpu, in.load.requests), verdict(per <= 100*time.Microsecond))
	}
}

// reportMedians prints, for each row, the median over the rounds of its
// requests/s, p50, p99 and CPU per request (each median taken on its
// own), the goals judged on those medians, and insitu's ratio to CGI in
// every round.
func reportMedians(cfg *config, rounds [][]result) {
	var med []result
	for i := range rounds[0] {
		var rps []float64
		var p50, p99, per, perW []time.Duration
		m := result{target: rounds[0][i].target}
		for _, results := range rounds {
			r := results[i]
			rps = append(rps, r.load.rps)
			p50, p99 = append(p50, r.load.p50), append(p99, r.load.p99)
			if r.load.requests > 0 {
				per = append(per, r.cpu/time.Duration(r.load.requests))
				perW = append(perW, r.workerCPU/time.Duration(r.load.requests))
			}
			m.load.requests += r.load.requests
			m.load.errors += r.load.errors
		}
		m.load.rps, m.load.p50, m.load.p99 = median(rps), median(p50), median(p99)
		// report divides by the requests: give it the median per request.
		m.cpu = median(per) * time.Duration(m.load.requests)
		m.workerCPU = median(perW) * time.Duration(m.load.requests)
		med = append(med, m)
	}
	fmt.Printf("\nmedians of %d rounds (each column on its own; errors summed)", len(rounds))
	report(cfg, med)
	for _, row := range []string{"insitu", "insitu-direct"} {
		var ratios []string
		for _, results := range rounds {
			var in, cgi float64
			for _, r := range results {
				switch r.name {
				case row:
					in = r.load.rps
				case "cgi":
					cgi = r.load.rps
				}
			}
			if in > 0 && cgi > 0 {
				ratios = append(ratios, fmt.Sprintf("%.2fx", in/cgi))
			}
		}
		if len(ratios) > 0 {
			fmt.Printf("%s / cgi by round: %s\n", row, strings.Join(ratios, ", "))
		}
	}
}

// median returns the middle value of xs (the mean of the two middle
// values when there is an even number); xs is sorted in place.
func median[T float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// perRequest formats d spread over n requests in microseconds.
func perRequest(d time.Duration, n int64) string {
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)/float64(n))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
