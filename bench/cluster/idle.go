package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/bench/internal/s3load"
	"github.com/insitu-cloud/insitu/internal/client"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat
// (100 on every Linux the benchmark runs on; `getconf CLK_TCK`).
const clockTicks = 100

// idleStage is one measured state of the idle cluster: what it holds and
// the CPU its server processes used per minute while nothing was asked
// of them.
type idleStage struct {
	label   string
	small   int // 4 KiB objects held
	large   int // 16 MiB objects held
	perNode []float64
}

// runIdle starts a cluster, then for each stage tops its contents up
// (4 KiB objects to each count in -idle-objects, then -idle-large 16 MiB
// ones), lets it settle and measures the CPU seconds per minute each
// server process uses over -idle-window while no client calls it.
func runIdle(ctx context.Context, cfg *config, root string) error {
	t, err := startWithBucket(ctx, cfg, root, "idle")
	defer t.stop()
	if err != nil {
		return err
	}
	var stages []idleStage
	held := 0
	for _, n := range cfg.idleObjects {
		if err := seedRange(ctx, t, held, n, 4096); err != nil {
			return err
		}
		held = max(held, n)
		st, err := measureIdle(ctx, cfg, t, fmt.Sprintf("%d x 4KiB", held))
		if err != nil {
			return err
		}
		st.small = held
		stages = append(stages, st)
	}
	if cfg.idleLarge > 0 {
		if err := seedRange(ctx, t, held, held+cfg.idleLarge, 16<<20); err != nil {
			return err
		}
		st, err := measureIdle(ctx, cfg, t, fmt.Sprintf("%d x 4KiB + %d x 16MiB", held, cfg.idleLarge))
		if err != nil {
			return err
		}
		st.small, st.large = held, cfg.idleLarge
		stages = append(stages, st)
	}
	printIdle(cfg, t, stages)
	return nil
}

// measureIdle waits for the cluster to settle (every node up,
// under_replicated 0, then -idle-settle more) and samples the processes'
// CPU time over -idle-window.
func measureIdle(ctx context.Context, cfg *config, t *target, label string) (idleStage, error) {
	fmt.Fprintf(os.Stderr, "%s: settling ...\n", label)
	if _, err := waitStatus(ctx, t.procs[0], 5*time.Minute, "a settled cluster", func(st *client.ClusterStatus) bool {
		return countUp(st) == len(t.procs) && st.UnderReplicated == 0
	}); err != nil {
		return idleStage{}, err
	}
	if err := sleepCtx(ctx, cfg.idleSettle); err != nil {
		return idleStage{}, err
	}
	before, err := cpuTimes(t)
	if err != nil {
		return idleStage{}, err
	}
	start := time.Now()
	if err := sleepCtx(ctx, cfg.idleWindow); err != nil {
		return idleStage{}, err
	}
	after, err := cpuTimes(t)
	if err != nil {
		return idleStage{}, err
	}
	perMin := time.Minute.Seconds() / time.Since(start).Seconds()
	st := idleStage{label: label}
	for i := range after {
		st.perNode = append(st.perNode, (after[i]-before[i])*perMin)
	}
	fmt.Fprintf(os.Stderr, "%s: %.2f CPU s/min over the nodes\n", label, sum(st.perNode))
	return st, nil
}

// cpuTimes returns utime+stime in seconds of each of t's processes.
func cpuTimes(t *target) ([]float64, error) {
	out := make([]float64, len(t.procs))
	for i, p := range t.procs {
		s, err := procCPU(p.cmd.Process.Pid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		out[i] = s
	}
	return out, nil
}

// serverCPU is the CPU seconds used so far by t's processes (0 for one
// that cannot be read, such as one that exited).
func serverCPU(t *target) float64 {
	var total float64
	for _, p := range t.procs {
		if s, err := procCPU(p.cmd.Process.Pid); err == nil {
			total += s
		}
	}
	return total
}

// procCPU reads utime+stime of pid from /proc/PID/stat, in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU takes utime (field 14) and stime (field 15) from a
// /proc/PID/stat line; the command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func parseStatCPU(line string) (float64, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc stat line %q", line)
	}
	f := strings.Fields(line[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat line %q", line)
	}
	u, uerr := strconv.ParseUint(f[11], 10, 64)
	s, serr := strconv.ParseUint(f[12], 10, 64)
	if uerr != nil || serr != nil {
		return 0, fmt.Errorf("bad utime/stime in %q", line)
	}
	return float64(u+s) / clockTicks, nil
}

func printIdle(cfg *config, t *target, stages []idleStage) {
	fmt.Printf("cluster idle: %d nodes (one zone each), %d replicas; CPU seconds per minute (utime+stime from /proc/PID/stat) over %s, after %s of settling\n",
		cfg.nodes, cfg.replicas, cfg.idleWindow, cfg.idleSettle)
	fmt.Printf("insitu %s (%s); load average %s\n\n", cfg.insitu, s3load.VersionOf(cfg.insitu, "version"), s3load.LoadAvg())
	head := []string{"held"}
	for _, p := range t.procs {
		head = append(head, p.name)
	}
	head = append(head, "all nodes")
	var body [][]string
	for _, st := range stages {
		row := []string{st.label}
		for _, v := range st.perNode {
			row = append(row, fmt.Sprintf("%.2f", v))
		}
		body = append(body, append(row, fmt.Sprintf("%.2f", sum(st.perNode))))
	}
	s3load.Table(os.Stdout, cfg.markdown, head, body)
}

func sum(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += v
	}
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
