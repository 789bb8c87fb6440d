package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/insitu-cloud/insitu/bench/internal/s3load"
)

const versionedBucket = "bench-versioned"

// versionedRows measures PUT and GET of size bytes in a bucket with
// versioning enabled (created on first use): each PUT writes a new version
// of one of 8 keys of its worker, so versions pile up as they do under a
// versioned workload, and each GET reads the latest version of one of the
// keys the PUT rows wrote. Versions are not deleted (the data directories
// go at the end of the run).
func versionedRows(ctx context.Context, cfg *config, targets []*target, size int64, measure func(name, kind string, conc int, op func(t *target) s3load.OpFunc)) error {
	for _, t := range targets {
		if err := t.load.CreateBucket(ctx, versionedBucket); err == nil {
			if err := t.load.EnableVersioning(ctx, versionedBucket); err != nil {
				return fmt.Errorf("%s: enable versioning: %w", t.name, err)
			}
		}
	}
	payload := s3load.RandomBytes(size)
	label := s3load.SizeLabel(size)
	keys := map[string]*keyMap{}
	for _, t := range targets {
		keys[t.name] = &keyMap{m: map[string]bool{}}
	}
	for _, c := range cfg.concs {
		measure(fmt.Sprintf("PUT %s c%d versioned", label, c), "PUT", c, func(t *target) s3load.OpFunc {
			return func(ctx context.Context, w, seq int) (int64, int64, error) {
				key := fmt.Sprintf("%s/w%d-%d", label, w, seq%8)
				if err := t.load.Put(ctx, versionedBucket, key, payload); err != nil {
					return 0, 0, err
				}
				keys[t.name].add(key)
				return size, 0, nil
			}
		})
	}
	for _, c := range cfg.concs {
		measure(fmt.Sprintf("GET %s c%d versioned", label, c), "GET", c, func(t *target) s3load.OpFunc {
			ks := keys[t.name].list()
			return func(ctx context.Context, w, seq int) (int64, int64, error) {
				if len(ks) == 0 {
					return 0, 0, fmt.Errorf("no versioned objects were written")
				}
				n, err := t.load.Get(ctx, versionedBucket, ks[(seq*c+w)%len(ks)], size)
				return n, 0, err
			}
		})
	}
	return nil
}

// keyMap is a set of keys written by concurrent workers.
type keyMap struct {
	mu sync.Mutex
	m  map[string]bool
}

func (k *keyMap) add(key string) {
	k.mu.Lock()
	k.m[key] = true
	k.mu.Unlock()
}

func (k *keyMap) list() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]string, 0, len(k.m))
	for key := range k.m {
		out = append(out, key)
	}
	return out
}
