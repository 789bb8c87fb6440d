// Command jobs benchmarks an insitu map/reduce job against the two other
// ways to count the words of 1 GiB spread across 1,000 objects:
//
//   - insitu: a job (map wc over every object, next to the data) on the real
//     binary built from ./cmd/insitu; only the job's small outputs cross the
//     network.
//   - download: what a user does without insitu: download every object with
//     aws-sdk-go-v2 from the same server (16 at a time) and count in Go.
//   - native: GNU wc over the same files on local disk, the limit.
//
// The three word totals must agree. Run from the repository root:
//
//	go run ./bench/jobs [-objects 1000] [-total 1GiB] [-reps 3] [-cache DIR]
//
// The generated files are kept under -cache and reused by later runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

type config struct {
	objects     int
	total       int64
	reps        int
	cache       string
	insitu      string
	downloaders int
	wcProcs     int
	reduce      string
	waitLoad    float64
	waitMax     time.Duration
	markdown    bool
}

func main() {
	var cfg config
	var total string
	flag.IntVar(&cfg.objects, "objects", 1000, "number of objects")
	flag.StringVar(&total, "total", "1GiB", "total bytes across the objects (B, KiB, MiB, GiB)")
	flag.IntVar(&cfg.reps, "reps", 3, "runs of each way; the median is reported")
	flag.StringVar(&cfg.cache, "cache", filepath.Join(os.TempDir(), "insitu-bench-jobs"), "directory for the generated files (reused)")
	flag.StringVar(&cfg.insitu, "insitu", os.Getenv("INSITU_BENCH_INSITU"), "insitu binary; empty builds ./cmd/insitu [INSITU_BENCH_INSITU]")
	flag.IntVar(&cfg.downloaders, "download-concurrency", 16, "concurrent downloads for the download way")
	flag.IntVar(&cfg.wcProcs, "wc-procs", 2, "parallel wc processes for the native way (xargs -P)")
	flag.StringVar(&cfg.reduce, "reduce", "", "a reduce app after map wc (e.g. sum, once it reads wc's output); empty: no reduce phase, the client adds up the job's outputs")
	flag.Float64Var(&cfg.waitLoad, "wait-load", 1.5, "wait until the 1-minute load average is below this (0: do not wait)")
	flag.DurationVar(&cfg.waitMax, "wait-max", 10*time.Minute, "longest wait for a quiet machine")
	flag.BoolVar(&cfg.markdown, "markdown", true, "print the results table as Markdown")
	flag.Parse()
	n, err := parseSize(total)
	if err != nil || flag.NArg() > 0 || cfg.objects < 1 || cfg.reps < 1 {
		fmt.Fprintf(os.Stderr, "usage: go run ./bench/jobs [flags] (bad -total %q or arguments %q)\n", total, flag.Args())
		os.Exit(2)
	}
	cfg.total = n
	if err := run(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench/jobs:", err)
		os.Exit(1)
	}
}

// counts are what wc prints.
type counts struct{ lines, words, bytes int64 }

func (c *counts) add(o counts) { c.lines += o.lines; c.words += o.words; c.bytes += o.bytes }

// result is one way's runs.
type result struct {
	name    string
	how     string
	times   []time.Duration
	counts  counts
	network int64 // bytes across the network (loopback here) per run
}

func (r *result) median() time.Duration {
	t := append([]time.Duration(nil), r.times...)
	sort.Slice(t, func(i, j int) bool { return t[i] < t[j] })
	return t[len(t)/2]
}

func (r *result) best() time.Duration { return slices.Min(r.times) }

func run(cfg *config) error {
	ctx := context.Background()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "generating or checking %d files, %s in all, under %s ...\n", cfg.objects, human(cfg.total), cfg.cache)
	files, err := ensureData(cfg)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "insitu-bench-jobs-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	srv, err := startInsitu(ctx, cfg, root, tmp)
	if err != nil {
		return err
	}
	defer srv.stop()
	start := time.Now()
	if err := srv.upload(ctx, files, cfg.downloaders); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "uploaded in %v\n", time.Since(start).Round(time.Millisecond))

	load0 := waitQuiet(cfg)
	ins := &result{name: "insitu job", how: "map wc" + map[bool]string{true: " + reduce " + cfg.reduce, false: " (outputs added by the client)"}[cfg.reduce != ""]}
	dl := &result{name: "download + count", how: fmt.Sprintf("aws-sdk-go-v2 GetObject x%d, %d at a time, Go word count", cfg.objects, cfg.downloaders)}
	nat := &result{name: "native wc", how: fmt.Sprintf("xargs -P%d wc over the local files (GNU coreutils, LC_ALL=C)", cfg.wcProcs)}
	var jobStats []string
	for rep := range cfg.reps {
		// Alternate the order so that drift does not always favour one way.
		ways := []func() error{
			func() error {
				d, c, net, stat, err := srv.jobRun(ctx, cfg)
				ins.times, ins.counts, ins.network = append(ins.times, d), c, net
				jobStats = append(jobStats, stat)
				return err
			},
			func() error {
				d, c, net, err := srv.downloadCount(ctx, cfg)
				dl.times, dl.counts, dl.network = append(dl.times, d), c, net
				return err
			},
			func() error {
				d, c, err := nativeWC(ctx, cfg, files)
				nat.times, nat.counts = append(nat.times, d), c
				return err
			},
		}
		if rep%2 == 1 {
			ways[0], ways[2] = ways[2], ways[0]
		}
		for _, w := range ways {
			if err := w(); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "rep %d: insitu %v, download %v, native %v\n", rep+1,
			ins.times[rep].Round(time.Millisecond), dl.times[rep].Round(time.Millisecond), nat.times[rep].Round(time.Millisecond))
	}
	load1 := loadAvg()
	if ins.counts != dl.counts || ins.counts != nat.counts {
		return fmt.Errorf("the totals differ: insitu %+v, download %+v, native %+v", ins.counts, dl.counts, nat.counts)
	}
	if nat.counts.bytes != cfg.total {
		return fmt.Errorf("native wc counted %d bytes, want %d", nat.counts.bytes, cfg.total)
	}
	printReport(cfg, []*result{ins, dl, nat}, load0, load1, jobStats)
	return nil
}

func printReport(cfg *config, rs []*result, load0, load1 string, jobStats []string) {
	ins, dl, nat := rs[0], rs[1], rs[2]
	fmt.Printf("\nword count over %s in %d objects; %d reps, median shown; load before %s, after %s\n", human(cfg.total), cfg.objects, cfg.reps, load0, load1)
	fmt.Printf("machine: %s, %d CPUs, %s\n", cpuModel(), runtime.NumCPU(), runtime.Version())
	fmt.Printf("totals (all three agree): %d lines, %d words, %d bytes\n\n", nat.counts.lines, nat.counts.words, nat.counts.bytes)
	fmt.Println("| way | how | time (median) | best | all runs (s) | MiB/s (median) | vs download | vs native | network bytes |")
	fmt.Println("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
	for _, r := range rs {
		m := r.median()
		var all []string
		for _, t := range r.times {
			all = append(all, fmt.Sprintf("%.2f", t.Seconds()))
		}
		net := "0 (local disk)"
		if r != nat {
			net = fmt.Sprintf("%d (%s)", r.network, human(r.network))
		}
		fmt.Printf("| %s | %s | %.2f s | %.2f s | %s | %.0f | %.2fx | %.2fx | %s |\n", r.name, r.how, m.Seconds(), r.best().Seconds(), strings.Join(all, ", "),
			float64(cfg.total)/(1<<20)/m.Seconds(), dl.median().Seconds()/m.Seconds(), nat.median().Seconds()/m.Seconds(), net)
	}
	fmt.Println("\n(\"vs\" columns: the other way's median time / this way's; above 1 means this way is faster.)")
	fmt.Printf("best of each: insitu %.2fx download, %.2fx native\n", dl.best().Seconds()/ins.best().Seconds(), nat.best().Seconds()/ins.best().Seconds())
	fmt.Printf("goals: faster than download-and-count: %v (%.2fx); at least 0.5x native: %v (%.2fx)\n",
		ins.median() < dl.median(), dl.median().Seconds()/ins.median().Seconds(),
		nat.median().Seconds()/ins.median().Seconds() >= 0.5, nat.median().Seconds()/ins.median().Seconds())
	fmt.Println("\ninsitu job runs (server side):")
	for _, s := range jobStats {
		fmt.Println("  " + s)
	}
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run from inside the insitu module")
	}
	return filepath.Dir(mod), nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suf) {
			s, mult = strings.TrimSuffix(s, u.suf), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

// waitQuiet waits until the 1-minute load is under cfg.waitLoad, at most
// cfg.waitMax, and returns the load when it starts.
func waitQuiet(cfg *config) string {
	if cfg.waitLoad <= 0 {
		return loadAvg()
	}
	deadline := time.Now().Add(cfg.waitMax)
	for {
		l := loadAvg()
		one, _ := strconv.ParseFloat(strings.Fields(l + " x")[0], 64)
		if one < cfg.waitLoad {
			return l
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "the machine is not quiet (load %s) after %v; running anyway\n", l, cfg.waitMax)
			return l + " (not quiet)"
		}
		fmt.Fprintf(os.Stderr, "waiting for a quiet machine: load %s\n", l)
		time.Sleep(15 * time.Second)
	}
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
