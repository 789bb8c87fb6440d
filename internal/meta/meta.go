// Package meta is insitu's control-plane state: a small transactional,
// watchable key-value surface for accounts, keys, apps, jobs, services and
// instances. A single node keeps it in a local Pebble store (Open); the
// cluster will put the same interface over etcd, so the features built on it
// do not change.
//
// Keys are '/'-separated strings; values are opaque bytes (callers use JSON).
package meta

import (
	"context"
	"errors"
	"strings"
)

// ErrNotFound is returned by Get for a missing key.
var ErrNotFound = errors.New("meta: key not found")

// ErrConflict is returned by CompareAndSwap when the current value differs
// from the expected one.
var ErrConflict = errors.New("meta: compare failed")

// Pair is one key and its value.
type Pair struct {
	Key   string
	Value []byte
}

// Event is one change seen by a watcher. Value is nil for deletions.
type Event struct {
	Key   string
	Value []byte
}

// Page selects a bounded, ordered range of a prefix for ListPage.
type Page struct {
	// After is a full key: the page starts just past it in the page's
	// order (exclusive). Empty: the first key (the last with Reverse).
	After string
	// Limit is the most pairs returned; zero or less means DefaultPageLimit.
	Limit int
	// Reverse walks keys in descending order (newest first for keys that
	// sort by time, such as UUIDv7 ids).
	Reverse bool
	// KeysOnly leaves Value nil, so a walk over keys copies no values.
	KeysOnly bool
}

// MaxBatch is the most pairs one PutBatch takes: etcd's default limit on
// the operations of one transaction.
const MaxBatch = 128

// ErrBatchTooLarge is returned by PutBatch for more than MaxBatch pairs.
var ErrBatchTooLarge = errors.New("meta: batch over MaxBatch pairs")

// DefaultPageLimit is Page.Limit when unset.
const DefaultPageLimit = 1000

// Store is the control-plane state. Implementations are safe for concurrent
// use; every write is durable when the call returns.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
	// List returns every pair whose key starts with prefix, in key order.
	List(ctx context.Context, prefix string) ([]Pair, error)
	// ListPage returns at most page.Limit pairs under prefix, in key order
	// (descending with page.Reverse) starting past page.After. It reads
	// only what it returns, however many keys the prefix holds.
	ListPage(ctx context.Context, prefix string, page Page) ([]Pair, error)
	// CompareAndSwap writes value at key only if the current value equals
	// expect (nil expect: the key must be absent; nil value: delete).
	// It returns ErrConflict when the comparison fails.
	CompareAndSwap(ctx context.Context, key string, expect, value []byte) error
	// PutBatch writes every pair in one durable write (one synced Pebble
	// batch; one etcd transaction): all of them or none. It takes at most
	// MaxBatch pairs (ErrBatchTooLarge otherwise).
	PutBatch(ctx context.Context, pairs []Pair) error
	// Watch delivers changes under prefix until ctx is done. Slow readers
	// lose no events: the channel is buffered and the writer blocks.
	Watch(ctx context.Context, prefix string) <-chan Event
	// Close is idempotent.
	Close() error
}

// EachGroup calls fn, in key order, with each distinct first segment of
// the keys under prefix (the "alice" of "runs/alice/ID"), reading one key
// per group, so walking the groups never loads a whole prefix. It stops
// at the first error fn returns.
func EachGroup(ctx context.Context, kv Store, prefix string, fn func(group string) error) error {
	after := ""
	for {
		first, err := kv.ListPage(ctx, prefix, Page{After: after, Limit: 1, KeysOnly: true})
		if err != nil || len(first) == 0 {
			return err
		}
		group, _, _ := strings.Cut(strings.TrimPrefix(first[0].Key, prefix), "/")
		if err := fn(group); err != nil {
			return err
		}
		after = prefix + group + "/\xff" // past every key of the group
	}
}

// NewestPast returns the key of the (n+1)th newest key under prefix, the
// newest one a cap of n keys lets go ("" when the prefix holds n or fewer).
// Keys must sort by age (UUIDv7 ids do).
func NewestPast(ctx context.Context, kv Store, prefix string, n int) (string, error) {
	keep, err := kv.ListPage(ctx, prefix, Page{Limit: n + 1, Reverse: true, KeysOnly: true})
	if err != nil || len(keep) <= n {
		return "", err
	}
	return keep[n].Key, nil
}

// Decoder is a Store that can keep decoded values (Cached does).
type Decoder interface {
	Decoded(ctx context.Context, key string, decode func([]byte) (any, error)) (any, error)
}

// GetDecoded returns decode of key's value: through kv's Decoded when kv
// is a Decoder (the result may then be shared: callers must not modify
// it), else Get then decode. Errors are Get's or decode's.
func GetDecoded(ctx context.Context, kv Store, key string, decode func([]byte) (any, error)) (any, error) {
	if d, ok := kv.(Decoder); ok {
		return d.Decoded(ctx, key, decode)
	}
	b, err := kv.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return decode(b)
}
