// Package metatest has helpers for tests of meta.Store users.
package metatest

import (
	"context"
	"sync/atomic"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// Counting wraps a real meta.Store and counts the values it reads, so a
// test can assert that a listing does not load a whole prefix. It is safe
// for concurrent use.
type Counting struct {
	meta.Store
	read atomic.Int64
}

// Read returns how many values Get, List and ListPage have returned.
func (c *Counting) Read() int64 { return c.read.Load() }

// Reset sets the count to zero.
func (c *Counting) Reset() { c.read.Store(0) }

// Get implements meta.Store.
func (c *Counting) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := c.Store.Get(ctx, key)
	if err == nil {
		c.read.Add(1)
	}
	return v, err
}

// List implements meta.Store.
func (c *Counting) List(ctx context.Context, prefix string) ([]meta.Pair, error) {
	pairs, err := c.Store.List(ctx, prefix)
	c.read.Add(int64(len(pairs)))
	return pairs, err
}

// ListPage implements meta.Store.
func (c *Counting) ListPage(ctx context.Context, prefix string, page meta.Page) ([]meta.Pair, error) {
	pairs, err := c.Store.ListPage(ctx, prefix, page)
	c.read.Add(int64(len(pairs)))
	return pairs, err
}
