package meta

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Cached is a Store that answers Get for some prefixes from memory, kept
// by a watch of the underlying store (in a cluster: etcd), so the lookups
// every request makes (access keys, accounts) do not cross the network.
//
// Rules: only the watch fills the cache (a full List when a watch starts,
// then its events), so a value read before a concurrent change can never
// be cached after it. A Get that misses reads the store. Writes through
// this Store (Put, Delete, CompareAndSwap, also a failed one) drop the
// key's entry, so this node reads its own writes; a change made through
// another node is seen once its watch event arrives (milliseconds). When
// a watch ends the cache is emptied until the next one has loaded. Safe
// for concurrent use; Close stops the watches and closes the store.
//
// Decoded also keeps a cached key's decoded form beside its bytes, so a
// lookup made on every request (an account) is decoded once per stored
// value: the decoded form lives in the same entry as the bytes, and every
// event, own write or reload that replaces or drops the bytes drops it too.
type Cached struct {
	Store
	prefixes []string
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu    sync.RWMutex
	m     map[string]*entry
	ready map[string]bool // by prefix
	// complete are the prefixes whose absent keys are answered from
	// memory too (see TrustAbsence); set before c is shared.
	complete map[string]bool
	// hooks are called after this node's writes (OnWrite); replaced
	// whole, never changed in place.
	hooks atomic.Pointer[[]writeHook]
}

type writeHook struct {
	prefix string
	fn     func(ctx context.Context)
}

// OnWrite makes every successful write through c (Put, Delete,
// CompareAndSwap, a batch) of a key under prefix call fn, on the
// writer's goroutine, before the write returns: what depends on the key
// is current by the time its writer hears back. A batch calls fn once.
// Writes by other nodes do not call it. fn must not write under prefix.
// Safe for concurrent use; a write in progress may miss a hook being
// added.
func (c *Cached) OnWrite(prefix string, fn func(ctx context.Context)) {
	for {
		old := c.hooks.Load()
		var hooks []writeHook
		if old != nil {
			hooks = slices.Clone(*old)
		}
		hooks = append(hooks, writeHook{prefix, fn})
		if c.hooks.CompareAndSwap(old, &hooks) {
			return
		}
	}
}

// wrote calls the hooks of key, which a successful write touched.
func (c *Cached) wrote(ctx context.Context, key string) {
	if hooks := c.hooks.Load(); hooks != nil {
		for _, h := range *hooks {
			if strings.HasPrefix(key, h.prefix) {
				h.fn(ctx)
			}
		}
	}
}

// wroteBatch calls the hooks of a successful batch's keys, each once.
func (c *Cached) wroteBatch(ctx context.Context, pairs []Pair) {
	hooks := c.hooks.Load()
	if hooks == nil {
		return
	}
	for _, h := range *hooks {
		for _, p := range pairs {
			if strings.HasPrefix(p.Key, h.prefix) {
				h.fn(ctx)
				break
			}
		}
	}
}

// TrustAbsence makes Get and Decoded answer ErrNotFound from memory for a
// key under prefix (one of the cached prefixes) that the loaded cache
// does not hold, so a lookup that usually finds nothing (a bucket's
// access settings) costs no store read either. A key this node writes is
// read from the store until its watch event arrives. Call it before c is
// shared; not safe concurrently with lookups.
func (c *Cached) TrustAbsence(prefix string) {
	if c.complete == nil {
		c.complete = map[string]bool{}
	}
	c.complete[prefix] = true
}

// unknown marks a key of a TrustAbsence prefix written by this node whose
// watch event has not arrived (see settle): it is read from the store.
var unknown = &entry{}

// absent is what cached returns for a key known to be missing.
var absent = &entry{}

// entry is one cached value; dec is its decoded form once asked for.
// An entry is replaced, never changed, except for setting dec once.
type entry struct {
	raw []byte
	dec any
}

// NewCached caches the keys under prefixes of s.
func NewCached(s Store, prefixes ...string) *Cached {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cached{Store: s, prefixes: prefixes, cancel: cancel, m: map[string]*entry{}, ready: map[string]bool{}}
	for _, p := range prefixes {
		c.wg.Add(1)
		go c.follow(ctx, p)
	}
	return c
}

// follow keeps prefix's entries until ctx ends.
func (c *Cached) follow(ctx context.Context, prefix string) {
	defer c.wg.Done()
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(ctx)
		ch := c.Store.Watch(wctx, prefix)
		if pairs, err := c.Store.List(wctx, prefix); err == nil {
			c.load(prefix, pairs, true)
			for ev := range ch {
				c.apply(ev)
			}
		}
		cancel()
		c.load(prefix, nil, false)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// load replaces prefix's entries with pairs and marks it ready or not.
func (c *Cached) load(prefix string, pairs []Pair, ready bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if strings.HasPrefix(k, prefix) {
			delete(c.m, k)
		}
	}
	for _, p := range pairs {
		c.m[p.Key] = &entry{raw: p.Value}
	}
	c.ready[prefix] = ready
}

func (c *Cached) apply(ev Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.Value == nil {
		delete(c.m, ev.Key)
	} else {
		c.m[ev.Key] = &entry{raw: ev.Value}
	}
}

// covered returns the cached prefix of key, or "".
func (c *Cached) covered(key string) string {
	for _, p := range c.prefixes {
		if strings.HasPrefix(key, p) {
			return p
		}
	}
	return ""
}

// Get implements Store: from memory for a cached key, else the store.
func (c *Cached) Get(ctx context.Context, key string) ([]byte, error) {
	if e := c.cached(key); e == absent {
		return nil, ErrNotFound
	} else if e != nil {
		return append([]byte(nil), e.raw...), nil
	}
	return c.Store.Get(ctx, key)
}

// cached returns key's entry when its prefix is loaded, else nil.
func (c *Cached) cached(key string) *entry {
	p := c.covered(key)
	if p == "" {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[key]
	switch {
	case !c.ready[p] || e == unknown:
		return nil
	case ok:
		return e
	case c.complete[p]:
		return absent
	}
	return nil
}

// Decoded implements Decoder: decode of key's value, decoded once per
// stored value for a cached key (later calls share the result, which
// callers must not modify), and on every call for any other key or a
// miss. Every caller of a key must pass the same decode. Errors are
// Get's (ErrNotFound for a missing key) or decode's.
func (c *Cached) Decoded(ctx context.Context, key string, decode func([]byte) (any, error)) (any, error) {
	e := c.cached(key)
	if e == absent {
		return nil, ErrNotFound
	}
	if e == nil {
		b, err := c.Store.Get(ctx, key)
		if err != nil {
			return nil, err
		}
		return decode(b)
	}
	c.mu.RLock()
	dec := e.dec
	c.mu.RUnlock()
	if dec != nil {
		return dec, nil
	}
	dec, err := decode(e.raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if e.dec == nil {
		e.dec = dec
	}
	dec = e.dec
	c.mu.Unlock()
	return dec, nil
}

// written is value as settle takes a put's: never nil, which means a
// delete. settle only compares it, so it is not copied.
func written(value []byte) []byte {
	if value == nil {
		return []byte{}
	}
	return value
}

// settle updates key's entry after this node wrote it (value; nil for a
// delete; ok false when the write failed): the entry stays when it
// already holds what was written (the write's watch event came first),
// else it becomes unknown (read from the store) until the event comes.
// Dropping it instead lost the race with an event that came first: the
// entry stayed uncached until the key changed again (CI11,
// TestCachedDecoded).
func (c *Cached) settle(key string, value []byte, ok bool) {
	if c.covered(key) == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, held := c.m[key]
	switch {
	case ok && value == nil && !held:
	case ok && value != nil && held && e != unknown && bytes.Equal(e.raw, value):
	default:
		c.m[key] = unknown
	}
}

// Put implements Store.
func (c *Cached) Put(ctx context.Context, key string, value []byte) error {
	err := c.Store.Put(ctx, key, value)
	c.settle(key, written(value), err == nil)
	if err == nil {
		c.wrote(ctx, key)
	}
	return err
}

// Delete implements Store.
func (c *Cached) Delete(ctx context.Context, key string) error {
	err := c.Store.Delete(ctx, key)
	c.settle(key, nil, err == nil)
	if err == nil {
		c.wrote(ctx, key)
	}
	return err
}

// CompareAndSwap implements Store; a conflict drops the entry too, so
// the caller's retry reads the store.
func (c *Cached) CompareAndSwap(ctx context.Context, key string, expect, value []byte) error {
	err := c.Store.CompareAndSwap(ctx, key, expect, value)
	c.settle(key, value, err == nil)
	if err == nil {
		c.wrote(ctx, key)
	}
	return err
}

// PutBatch implements Store.
func (c *Cached) PutBatch(ctx context.Context, pairs []Pair) error {
	err := c.Store.PutBatch(ctx, pairs)
	c.settleAll(ctx, pairs, err)
	return err
}

// settleAll settles every key of a batch write that returned err, then
// calls the hooks of a successful one.
func (c *Cached) settleAll(ctx context.Context, pairs []Pair, err error) {
	for _, p := range pairs {
		c.settle(p.Key, written(p.Value), err == nil)
	}
	if err == nil {
		c.wroteBatch(ctx, pairs)
	}
}

// PutBatchDeferred implements Deferred when the store c wraps does (see
// AsDeferred); otherwise it is PutBatch.
func (c *Cached) PutBatchDeferred(ctx context.Context, pairs []Pair) error {
	d, ok := c.Store.(Deferred)
	if !ok {
		return c.PutBatch(ctx, pairs)
	}
	err := d.PutBatchDeferred(ctx, pairs)
	c.settleAll(ctx, pairs, err)
	return err
}

// AsDeferred returns kv as a Deferred when its writes can really be
// deferred: a Local store, or a Cached one over it (not etcd's, whose
// every write is a synced transaction).
func AsDeferred(kv Store) (Deferred, bool) {
	if c, ok := kv.(*Cached); ok {
		if _, ok := c.Store.(Deferred); !ok {
			return nil, false
		}
		return c, true
	}
	d, ok := kv.(Deferred)
	return d, ok
}

// Close stops the watches and closes the store.
func (c *Cached) Close() error {
	c.cancel()
	c.wg.Wait()
	return c.Store.Close()
}

var (
	_ Store    = (*Cached)(nil)
	_ Decoder  = (*Cached)(nil)
	_ Deferred = (*Local)(nil)
)
