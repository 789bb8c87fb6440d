package meta

// Lookup answers key from memory alone, for lookups made on requests
// where most keys do not exist (a bucket's optional configuration): a
// miss in a loaded prefix is an answer, not a store read.
//
// It returns key's decoded value (decoded once per stored value, as
// Decoded; callers must not modify it) with known true, or ErrNotFound
// with known true when the key has no value. known is false when memory
// cannot answer: the key's prefix is not cached or not loaded (its watch
// restarting), or this node wrote the key and the watch has not yet
// delivered that write; the caller then reads the store (Decoded).
// A change made through another node is seen once its watch event
// arrives. Safe for concurrent use.
func (c *Cached) Lookup(key string, decode func([]byte) (any, error)) (v any, known bool, err error) {
	p := c.covered(key)
	if p == "" {
		return nil, false, nil
	}
	c.mu.RLock()
	e, ok := c.m[key]
	known = c.ready[p] && c.stale[key] == nil
	c.mu.RUnlock()
	switch {
	case !known:
		return nil, false, nil
	case !ok:
		return nil, true, ErrNotFound
	}
	v, err = c.decodeEntry(e, decode)
	return v, true, err
}
