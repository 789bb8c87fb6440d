package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/insitu-cloud/insitu/bench/internal/s3load"
)

const (
	bucket     = "bench"
	listBucket = "bench-list"
)

// rowResult is one row of the table: one operation, measured on each server.
type rowResult struct {
	name string
	kind string // "PUT", "GET" or "LIST"
	res  map[string]s3load.Result
}

// runRows runs every row against every target, back to back, alternating
// which server goes first from row to row.
func runRows(ctx context.Context, cfg *config, targets []*target) ([]rowResult, error) {
	for _, t := range targets {
		if err := t.load.CreateBucket(ctx, bucket); err != nil {
			return nil, fmt.Errorf("%s: create bucket: %w", t.name, err)
		}
	}
	var rows []rowResult
	measure := func(name, kind string, conc int, op func(t *target) s3load.OpFunc) {
		r := rowResult{name: name, kind: kind, res: map[string]s3load.Result{}}
		for _, t := range order(targets, len(rows)) {
			if ctx.Err() != nil {
				return
			}
			syscall.Sync() // no dirty pages from the previous run
			fmt.Fprintf(os.Stderr, "%-18s %-6s ...", name, t.name)
			res := s3load.Timed(ctx, conc, cfg.warmup, cfg.duration, op(t))
			fmt.Fprintf(os.Stderr, " %s ops/s, %s MiB/s, %d errors\n", s3load.Num(res.OpsPerSec()), s3load.Num(res.MiBPerSec()), res.Errs)
			r.res[t.name] = res
		}
		rows = append(rows, r)
	}
	for _, size := range cfg.sizes {
		payload := s3load.RandomBytes(size)
		label := s3load.SizeLabel(size)
		written := map[string]*keySet{}
		for _, t := range targets {
			written[t.name] = &keySet{}
		}
		for _, c := range cfg.concs {
			measure(fmt.Sprintf("PUT %s c%d", label, c), "PUT", c, func(t *target) s3load.OpFunc {
				return func(ctx context.Context, w, seq int) (int64, int64, error) {
					key := fmt.Sprintf("%s/c%d/w%d-%d", label, c, w, seq)
					if err := t.load.Put(ctx, bucket, key, payload); err != nil {
						return 0, 0, err
					}
					written[t.name].add(key)
					return size, 0, nil
				}
			})
		}
		if cfg.post {
			if err := postRows(ctx, cfg, targets, size, measure); err != nil {
				return rows, err
			}
		}
		// GETs read back what the PUT rows wrote; top up so every worker
		// of the largest concurrency has objects of its own.
		for _, t := range targets {
			if err := topUp(ctx, t, written[t.name], label, payload, 2*maxInt(cfg.concs)); err != nil {
				return rows, fmt.Errorf("%s: writing objects to GET: %w", t.name, err)
			}
		}
		read := sameCount(targets, written)
		for _, c := range cfg.concs {
			measure(fmt.Sprintf("GET %s c%d", label, c), "GET", c, func(t *target) s3load.OpFunc {
				keys := read[t.name]
				return func(ctx context.Context, w, seq int) (int64, int64, error) {
					n, err := t.load.Get(ctx, bucket, keys[(seq*c+w)%len(keys)], size)
					return n, 0, err
				}
			})
		}
		if err := anonGetRows(ctx, cfg, targets, label, size, read, measure); err != nil {
			return rows, err
		}
		if cfg.versions {
			if err := versionedRows(ctx, cfg, targets, size, measure); err != nil {
				return rows, err
			}
		}
		for _, t := range targets { // bound disk use between sizes
			if err := t.load.DeleteAll(ctx, bucket, written[t.name].keys); err != nil {
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
		measure(fmt.Sprintf("LIST %d keys", cfg.listKeys), "LIST", 1, func(t *target) s3load.OpFunc {
			return func(ctx context.Context, _, _ int) (int64, int64, error) {
				n, err := t.load.ListAll(ctx, listBucket)
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
		if err := t.load.Put(ctx, bucket, key, payload); err != nil {
			return err
		}
		ks.add(key)
	}
	return nil
}

// seedList writes n objects of size bytes into listBucket, 16 at a time,
// untimed for the table (the time taken is printed).
func seedList(ctx context.Context, t *target, n int, size int64) error {
	if err := t.load.CreateBucket(ctx, listBucket); err != nil {
		return err
	}
	payload := s3load.RandomBytes(size)
	start := time.Now()
	work := make(chan int)
	errc := make(chan error, 16)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := t.load.Put(ctx, listBucket, fmt.Sprintf("key-%06d", i), payload); err != nil {
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
	fmt.Fprintf(os.Stderr, "seeded %d x %s into %s in %.1fs\n", n, s3load.SizeLabel(size), t.name, time.Since(start).Seconds())
	return err
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// anonGetRows measures unsigned GETs of the objects of one size, allowed
// by a bucket policy that grants s3:GetObject to "*" on their prefix, so
// every request pays the policy decision.
func anonGetRows(ctx context.Context, cfg *config, targets []*target, label string, size int64,
	read map[string][]string, measure func(name, kind string, conc int, op func(t *target) s3load.OpFunc)) error {
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"anon","Effect":"Allow","Principal":{"AWS":["*"]},` +
		`"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + bucket + `/` + label + `/*"]}]}`
	for _, t := range targets {
		if err := t.load.PutPolicy(ctx, bucket, doc); err != nil {
			return fmt.Errorf("%s: put bucket policy: %w", t.name, err)
		}
	}
	for _, c := range cfg.concs {
		measure(fmt.Sprintf("GET %s c%d anon", label, c), "GET", c, func(t *target) s3load.OpFunc {
			keys := read[t.name]
			return func(ctx context.Context, w, seq int) (int64, int64, error) {
				n, err := t.load.AnonGet(ctx, bucket, keys[(seq*c+w)%len(keys)], size)
				return n, 0, err
			}
		})
	}
	return nil
}

// sameCount returns, per server, the first keys it wrote, as many for each
// as the server that wrote the fewest: a server whose PUT rows were faster
// would otherwise read more objects for the first time (from the disk when
// its writes bypass the page cache) in its GET rows.
func sameCount(targets []*target, written map[string]*keySet) map[string][]string {
	common := -1
	for _, t := range targets {
		if n := len(written[t.name].keys); common < 0 || n < common {
			common = n
		}
	}
	read := map[string][]string{}
	for _, t := range targets {
		read[t.name] = written[t.name].keys[:common]
	}
	return read
}
