package meta

import (
	"bytes"
	"context"
	"strings"
	"sync"
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
	ready map[string]bool     // by prefix
	stale map[string]*pending // own writes whose watch event has not arrived (see Lookup)
}

// pending is an own write of a key whose watch event has not arrived.
type pending struct {
	value []byte
	del   bool // a delete
	any   bool // the write failed or its outcome is unknown: any event on the key ends it
}

// ends reports whether the watch event ev (Value nil: a delete) is p's.
func (p *pending) ends(value []byte) bool {
	return p.any || p.del == (value == nil) && bytes.Equal(p.value, value)
}

// entry is one cached value; dec is its decoded form once asked for.
// An entry is replaced, never changed, except for setting dec once.
type entry struct {
	raw []byte
	dec any
}

// NewCached caches the keys under prefixes of s.
func NewCached(s Store, prefixes ...string) *Cached {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cached{Store: s, prefixes: prefixes, cancel: cancel, m: map[string]*entry{}, ready: map[string]bool{}, stale: map[string]*pending{}}
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
	for k, p := range c.stale {
		if e := c.m[k]; strings.HasPrefix(k, prefix) && ready && !p.any && (e == nil && p.del || e != nil && p.ends(e.raw)) {
			delete(c.stale, k) // the listing already holds the write
		}
	}
	c.ready[prefix] = ready
}

func (c *Cached) apply(ev Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.stale[ev.Key]; p != nil && p.ends(ev.Value) {
		delete(c.stale, ev.Key)
	}
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
	if e := c.cached(key); e != nil {
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
	if e, ok := c.m[key]; ok && c.ready[p] {
		return e
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
	if e == nil {
		b, err := c.Store.Get(ctx, key)
		if err != nil {
			return nil, err
		}
		return decode(b)
	}
	return c.decodeEntry(e, decode)
}

// decodeEntry returns e's decoded form, decoding it once.
func (c *Cached) decodeEntry(e *entry, decode func([]byte) (any, error)) (any, error) {
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

// begin notes an own write of key (value nil with del: a delete) before
// it is sent, so Lookup does not answer from memory until its event.
func (c *Cached) begin(key string, value []byte, del bool) {
	if c.covered(key) != "" {
		c.mu.Lock()
		c.stale[key] = &pending{value: value, del: del}
		c.mu.Unlock()
	}
}

// end follows an own write of key: unless its watch event has already
// arrived (the entry is then this write's value or a newer one), the
// entry is dropped, so this node reads its own write from the store.
// A failed write waits for any event on the key.
func (c *Cached) end(key string, err error) {
	if c.covered(key) == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.stale[key]; p != nil {
		delete(c.m, key)
		p.any = p.any || err != nil
	}
}

// Put implements Store.
func (c *Cached) Put(ctx context.Context, key string, value []byte) (err error) {
	c.begin(key, value, false)
	defer func() { c.end(key, err) }()
	return c.Store.Put(ctx, key, value)
}

// Delete implements Store.
func (c *Cached) Delete(ctx context.Context, key string) (err error) {
	c.begin(key, nil, true)
	defer func() { c.end(key, err) }()
	return c.Store.Delete(ctx, key)
}

// CompareAndSwap implements Store; a conflict drops the entry too, so
// the caller's retry reads the store.
func (c *Cached) CompareAndSwap(ctx context.Context, key string, expect, value []byte) (err error) {
	c.begin(key, value, value == nil)
	defer func() {
		c.end(key, err)
		if err != nil && c.covered(key) != "" {
			c.mu.Lock()
			delete(c.m, key)
			c.mu.Unlock()
		}
	}()
	return c.Store.CompareAndSwap(ctx, key, expect, value)
}

// PutBatch implements Store.
func (c *Cached) PutBatch(ctx context.Context, pairs []Pair) (err error) {
	for _, p := range pairs {
		c.begin(p.Key, p.Value, false)
	}
	defer func() {
		for _, p := range pairs {
			c.end(p.Key, err)
		}
	}()
	return c.Store.PutBatch(ctx, pairs)
}

// Close stops the watches and closes the store.
func (c *Cached) Close() error {
	c.cancel()
	c.wg.Wait()
	return c.Store.Close()
}

var (
	_ Store   = (*Cached)(nil)
	_ Decoder = (*Cached)(nil)
)
