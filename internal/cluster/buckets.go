package cluster

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// bucketCache keeps the cluster's bucket records in memory, fed by an
// etcd watch, so object calls do not read etcd for their bucket. A miss
// reads etcd (the record may be newer than the watch); a delete or a
// change made through another node reaches the cache within the watch's
// latency. Safe for concurrent use.
type bucketCache struct {
	mu    sync.RWMutex
	m     map[string]bucketRecord
	ready bool
}

// bucketRecord is a bucket's value in etcd (key buckets/<name>): the
// BucketInfo, the versioning state (store.VersioningUnset until
// PutBucketVersioning sets it) and the Object Lock configuration (nil
// until Object Lock is enabled; never removed after).
type bucketRecord struct {
	store.BucketInfo
	Versioning string                  `json:",omitempty"`
	ObjectLock *store.ObjectLockConfig `json:",omitempty"`
}

func (b *bucketCache) get(name string) (bucketRecord, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	rec, ok := b.m[name]
	return rec, ok && b.ready
}

func (b *bucketCache) set(name string, v []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if v == nil {
		delete(b.m, name)
		return
	}
	var rec bucketRecord
	if json.Unmarshal(v, &rec) == nil {
		b.m[name] = rec
	}
}

// watchBuckets loads every bucket record and follows changes until the
// cluster closes; when the watch ends it starts over from a fresh load.
func (e *Engine) watchBuckets() {
	defer e.c.wg.Done()
	ctx := e.c.ctx
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(ctx)
		ch := e.c.kv.Watch(wctx, "buckets/")
		if pairs, err := e.c.kv.List(wctx, "buckets/"); err == nil {
			e.buckets.mu.Lock()
			e.buckets.m = map[string]bucketRecord{}
			e.buckets.ready = true
			e.buckets.mu.Unlock()
			for _, p := range pairs {
				e.buckets.set(p.Key[len("buckets/"):], p.Value)
			}
			for ev := range ch {
				e.buckets.set(ev.Key[len("buckets/"):], ev.Value)
			}
		}
		cancel()
		e.buckets.mu.Lock()
		e.buckets.ready = false
		e.buckets.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
