package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/insitu-cloud/insitu/bench/internal/s3load"
)

const bucket = "bench"

// rowResult is one row of the table: one operation, measured on each
// system.
type rowResult struct {
	name string
	res  map[string]s3load.Result
	// dev is the bytes written to the machine's block devices per
	// successful operation (warm-up included), after a sync; devRead the
	// bytes read from them.
	dev, devRead map[string]float64
	// cpu is the CPU seconds (user+system) of the system's server
	// processes per successful operation (warm-up included).
	cpu map[string]float64
}

// runThroughput starts every selected system, runs the rows and prints
// the tables; the systems are stopped before it returns.
func runThroughput(ctx context.Context, cfg *config, root string) error {
	if contains(cfg.targets, "minio") {
		var err error
		if cfg.minio, err = s3load.FindMinio(cfg.minio); err != nil {
			return fmt.Errorf("%w\n(or run with -targets one,r2,r3 to measure insitu alone)", err)
		}
	}
	var targets []*target
	defer func() {
		for _, t := range targets {
			t.stop()
		}
	}()
	for _, name := range cfg.targets {
		fmt.Fprintf(os.Stderr, "starting %s ...\n", name)
		t, err := startTarget(ctx, cfg, root, name)
		if t != nil {
			targets = append(targets, t)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := t.clients[0].CreateBucket(ctx, bucket); err != nil {
			return fmt.Errorf("%s: create bucket: %w", name, err)
		}
	}
	printHeader(cfg, root, targets)
	rows, err := runRows(ctx, cfg, targets)
	printTables(os.Stdout, cfg, targets, rows)
	return err
}

func startTarget(ctx context.Context, cfg *config, root, name string) (*target, error) {
	switch name {
	case "one":
		return startInsitu(ctx, cfg, root, insituSpec{name: "one", nodes: 1})
	case "r2":
		return startInsitu(ctx, cfg, root, insituSpec{name: "r2", nodes: 3, replicas: 2})
	case "r3":
		return startInsitu(ctx, cfg, root, insituSpec{name: "r3", nodes: 3, replicas: 3})
	}
	return startMinio(ctx, cfg, root, 4)
}

// runRows runs PUT then GET for every size and concurrency, each row on
// every system back to back, the order reversed on odd rows so no system
// always goes first.
func runRows(ctx context.Context, cfg *config, targets []*target) ([]rowResult, error) {
	var rows []rowResult
	var deadErr error // the first server process found dead
	measure := func(name string, conc int, op func(t *target) s3load.OpFunc) {
		r := rowResult{name: name, res: map[string]s3load.Result{}, dev: map[string]float64{}, devRead: map[string]float64{}, cpu: map[string]float64{}}
		for _, t := range order(targets, len(rows)) {
			if ctx.Err() != nil {
				return
			}
			syscall.Sync() // no dirty pages from the previous run
			fmt.Fprintf(os.Stderr, "%-16s %-6s ...", name, t.name)
			var done atomic.Int64
			f := op(t)
			before, readBefore, cpuBefore, repBefore := deviceWritten(), deviceRead(), serverCPU(t), repairStat(ctx, t)
			res := s3load.Timed(ctx, conc, cfg.warmup, cfg.duration, func(ctx context.Context, w, seq int) (int64, int64, error) {
				a, b, err := f(ctx, w, seq)
				if err == nil {
					done.Add(1)
				}
				return a, b, err
			})
			syscall.Sync()
			ops := float64(max(done.Load(), 1))
			r.dev[t.name] = float64(deviceWritten()-before) / ops
			r.devRead[t.name] = float64(deviceRead()-readBefore) / ops
			r.cpu[t.name] = (serverCPU(t) - cpuBefore) / ops
			rep := repairStat(ctx, t).minus(repBefore)
			fmt.Fprintf(os.Stderr, " %s ops/s, %s MiB/s, %d errors, %s MiB written to and %s MiB read from disk per op, %s ms server CPU per op; repair during the row: %.0f passes, %.0f copied, %.0f dropped\n",
				s3load.Num(res.OpsPerSec()), s3load.Num(res.MiBPerSec()), res.Errs, s3load.Num(r.dev[t.name]/s3load.MiB), s3load.Num(r.devRead[t.name]/s3load.MiB), s3load.Num(r.cpu[t.name]*1000),
				rep.passes, rep.copied, rep.dropped)
			r.res[t.name] = res
			if dead := t.exited(); dead != nil && deadErr == nil {
				cfg.keepLogs = true // the log says why
				deadErr = fmt.Errorf("%s: %s exited during %q (log %s):\n%s", t.name, dead.name, name, dead.logPath, tail(dead.logPath))
			}
		}
		rows = append(rows, r)
	}
	for _, size := range cfg.sizes {
		if err := sizeRows(ctx, cfg, targets, size, measure); err != nil {
			return rows, errors.Join(err, deadErr)
		}
	}
	if deadErr != nil {
		return rows, deadErr
	}
	return rows, ctx.Err()
}

// sizeRows measures PUT and GET of objects of size, then deletes them.
func sizeRows(ctx context.Context, cfg *config, targets []*target, size int64, measure func(string, int, func(*target) s3load.OpFunc)) error {
	payload := s3load.RandomBytes(size)
	label := s3load.SizeLabel(size)
	written := map[string]*keySet{}
	for _, t := range targets {
		written[t.name] = &keySet{}
	}
	for _, c := range cfg.concs {
		measure(fmt.Sprintf("PUT %s c%d", label, c), c, func(t *target) s3load.OpFunc {
			return func(ctx context.Context, w, seq int) (int64, int64, error) {
				key := fmt.Sprintf("%s/c%d/w%d-%d", label, c, w, seq)
				if err := t.client(w, seq).Put(ctx, bucket, key, payload); err != nil {
					return 0, 0, err
				}
				written[t.name].add(key)
				return size, 0, nil
			}
		})
	}
	// GETs read back what the PUT rows wrote; top up so every worker of
	// the largest concurrency has objects of its own.
	for _, t := range targets {
		if err := topUp(ctx, t, written[t.name], label, payload, 2*maxInt(cfg.concs)); err != nil {
			return fmt.Errorf("%s: writing objects to GET: %w", t.name, err)
		}
	}
	// Every system reads the same number of keys (the fewest any system
	// wrote): a system whose PUT row wrote more keys would otherwise read
	// more of them for the first time, from the disk.
	common := len(written[targets[0].name].keys)
	for _, t := range targets {
		common = min(common, len(written[t.name].keys))
	}
	for _, c := range cfg.concs {
		measure(fmt.Sprintf("GET %s c%d", label, c), c, func(t *target) s3load.OpFunc {
			keys := written[t.name].keys[:common]
			return func(ctx context.Context, w, seq int) (int64, int64, error) {
				n, err := t.client(w, seq).Get(ctx, bucket, keys[(seq*c+w)%len(keys)], size)
				return n, 0, err
			}
		})
	}
	for _, t := range targets { // bound disk use between sizes
		if err := t.clients[0].DeleteAll(ctx, bucket, written[t.name].keys); err != nil {
			return fmt.Errorf("%s: deleting %s objects: %w", t.name, label, err)
		}
	}
	return nil
}

// order returns targets, reversed on odd rows.
func order(ts []*target, row int) []*target {
	out := append([]*target(nil), ts...)
	if row%2 == 1 {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// keySet collects the keys written; add is safe for concurrent use.
type keySet struct {
	mu   sync.Mutex
	keys []string
}

func (s *keySet) add(k string) {
	s.mu.Lock()
	s.keys = append(s.keys, k)
	s.mu.Unlock()
}

func topUp(ctx context.Context, t *target, ks *keySet, label string, payload []byte, want int) error {
	for i := 0; len(ks.keys) < want; i++ {
		key := fmt.Sprintf("%s/seed/%d", label, i)
		if err := t.client(0, i).Put(ctx, bucket, key, payload); err != nil {
			return err
		}
		ks.add(key)
	}
	return nil
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
