package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

func printHeader(cfg *config) {
	fmt.Printf("bench/instances: %d instances one after another, %d at once; type %s; accel %s; GOMAXPROCS %d; image %s; load average %s\n",
		cfg.n, cfg.parallel, cfg.itype, cfg.accel, runtime.GOMAXPROCS(0), cfg.image, loadAvg())
}

// loadAvg is the first three fields of /proc/loadavg ("?" when unreadable).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// stat is p50 and max of one measure.
type stat struct{ p50, max time.Duration }

func stats(ss []sample, pick func(sample) time.Duration) stat {
	if len(ss) == 0 {
		return stat{}
	}
	d := make([]time.Duration, len(ss))
	for i, s := range ss {
		d[i] = pick(s)
	}
	slices.Sort(d)
	return stat{p50: d[(len(d)-1)/2], max: d[len(d)-1]}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/1e6) }

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

// report prints one table per concurrency: insitu and bare side by side.
func report(cfg *config, seq, par, bseq, bpar []sample) {
	table(fmt.Sprintf("one at a time (%d)", len(seq)), seq, bseq)
	table(fmt.Sprintf("%d at once", cfg.parallel), par, bpar)
	memory(cfg, append(append([]sample(nil), seq...), par...))
	fmt.Printf("load average at the end: %s\n", loadAvg())
}

func table(title string, in, bare []sample) {
	fmt.Printf("\n%s\n", title)
	fmt.Printf("| measure | insitu p50 | insitu max | bare p50 | bare max | insitu/bare p50 |\n|---|---:|---:|---:|---:|---:|\n")
	rows := []struct {
		name string
		pick func(sample) time.Duration
	}{
		{"RunInstances → running", func(s sample) time.Duration { return s.running }},
		{"→ first console line", func(s sample) time.Duration { return s.console }},
		{"→ port 80 answering", func(s sample) time.Duration { return s.http }},
		{"QEMU CPU time to port 80", func(s sample) time.Duration { return s.cpu }},
	}
	for _, r := range rows {
		a, b := stats(in, r.pick), stats(bare, r.pick)
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", r.name, ms(a.p50), ms(a.max), ms(b.p50), ms(b.max), ratio(a.p50, b.p50))
	}
}

// memory prints the resident memory the instances used and how many fit
// the node: by the type's booked memory, and by the measured residency.
func memory(cfg *config, ss []sample) {
	var top int64
	for _, s := range ss {
		top = max(top, s.rssKiB)
	}
	total := memTotalKiB()
	booked := int64(typeMiB(cfg.itype)) * 1024
	fmt.Printf("\nmemory: node %d MiB; largest instance RSS once serving %d MiB (type %s books %d MiB)\n",
		total/1024, top/1024, cfg.itype, booked/1024)
	if booked > 0 && top > 0 {
		fmt.Printf("instances per node: %d by the type's memory, %d by measured residency\n", total/booked, total/top)
	}
}

// typeMiB is the memory of the EC2 types the tiny image is run as.
func typeMiB(t string) int {
	return map[string]int{"t3.nano": 512, "t3.micro": 1024, "t3.small": 2048, "t3.medium": 4096}[t]
}
