package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"time"
)

const (
	bucket     = "bench"
	listBucket = "bench-list"
)

// rowResult is one row of the table: one operation, measured on each server.
type rowResult struct {
	name string
	kind string // "PUT", "GET" or "LIST"
	res  map[string]result
}

// runRows runs every row against every target, back to back, alternating
// which server goes first from row to row.
func runRows(ctx context.Context, cfg *config, targets []*target) ([]rowResult, error) {
	for _, t := range targets {
		if err := t.load.createBucket(ctx, bucket); err != nil {
			return nil, fmt.Errorf("%s: create bucket: %w", t.name, err)
		}
	}
	var rows []rowResult
	measure := func(name, kind string, conc int, op func(t *target) opFunc) {
		r := rowResult{name: name, kind: kind, res: map[string]result{}}
		for _, t := range order(targets, len(rows)) {
			if ctx.Err() != nil {
				return
			}
			syscall.Sync() // no dirty pages from the previous run
			fmt.Fprintf(os.Stderr, "%-18s %-6s ...", name, t.name)
			res := timed(ctx, conc, cfg.warmup, cfg.duration, op(t))
			fmt.Fprintf(os.Stderr, " %s ops/s, %s MiB/s, %d errors\n", num(res.opsPerSec()), num(res.mibPerSec()), res.errs)
			r.res[t.name] = res
		}
		rows = append(rows, r)
	}
	for _, size := range cfg.sizes {
		payload := randomBytes(size)
		label := sizeLabel(size)
		written := map[string]*keySet{}
		for _, t := range targets {
			written[t.name] = &keySet{}
		}
		for _, c := range cfg.concs {
			measure(fmt.Sprintf("PUT %s c%d", label, c), "PUT", c, func(t *target) opFunc {
				return func(ctx context.Context, w, seq int) (int64, int64, error) {
					key := fmt.Sprintf("%s/c%d/w%d-%d", label, c, w, seq)
					if err := t.load.put(ctx, bucket, key, payload); err != nil {
						return 0, 0, err
					}
					written[t.name].add(key)
					return size, 0, nil
				}
			})
		}
		// GETs read back what the PUT rows wrote; top up so every worker
		// of the largest concurrency has objects of its own.
		for _, t := range targets {
			if err := topUp(ctx, t, written[t.name], label, payload, 2*maxInt(cfg.concs)); err != nil {
				return rows, fmt.Errorf("%s: writing objects to GET: %w", t.name, err)
			}
		}
		for _, c := range cfg.concs {
			measure(fmt.Sprintf("GET %s c%d", label, c), "GET", c, func(t *target) opFunc {
				keys := written[t.name].keys
				return func(ctx context.Context, w, seq int) (int64, int64, error) {
					n, err := t.load.get(ctx, bucket, keys[(seq*c+w)%len(keys)], size)
					return n, 0, err
				}
			})
		}
		for _, t := range targets { // bound disk use between sizes
			if err := t.load.deleteAll(ctx, bucket, written[t.name].keys); err != nil {
				return rows, fmt.Errorf("%s: deleting %s objects: %w", t.name, label, err)
			}
		}
	}
	if cfg.listKeys > 0 {
		for _, t := range targets {
			if err := seedList(ctx, t, cfg.listKeys, cfg.listSize); err != nil {
				return rows, fmt.Errorf("%s: seeding %d keys: %w", t.name, cfg.listKeys, err)
			}
		}
		measure(fmt.Sprintf("LIST %d keys", cfg.listKeys), "LIST", 1, func(t *target) opFunc {
			return func(ctx context.Context, _, _ int) (int64, int64, error) {
				n, err := t.load.listAll(ctx, listBucket)
				if err == nil && n != int64(cfg.listKeys) {
					err = fmt.Errorf("listed %d keys, want %d", n, cfg.listKeys)
				}
				return 0, n, err
			}
		})
	}
	return rows, ctx.Err()
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
		if err := t.load.put(ctx, bucket, key, payload); err != nil {
			return err
		}
		ks.add(key)
	}
	return nil
}

// seedList writes n objects of size bytes into listBucket, 16 at a time,
// untimed for the table (the time taken is printed).
func seedList(ctx context.Context, t *target, n int, size int64) error {
	if err := t.load.createBucket(ctx, listBucket); err != nil {
		return err
	}
	payload := randomBytes(size)
	start := time.Now()
	work := make(chan int)
	errc := make(chan error, 16)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := t.load.put(ctx, listBucket, fmt.Sprintf("key-%06d", i), payload); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := 0; i < n; i++ {
		select {
		case work <- i:
		case err = <-errc:
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	fmt.Fprintf(os.Stderr, "seeded %d x %s into %s in %.1fs\n", n, sizeLabel(size), t.name, time.Since(start).Seconds())
	return err
}

func randomBytes(n int64) []byte {
	r := rand.NewChaCha8([32]byte{'s', '3', 'b', 'e', 'n', 'c', 'h'})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
