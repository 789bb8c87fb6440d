package meta

import (
	"context"
	"sync"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Etcd is a Store kept in an etcd cluster: the control-plane state of a
// cluster of nodes (DESIGN.md, Cluster). Keys live under a prefix of the
// etcd keyspace, so several clouds may share one etcd. Every write is a
// committed raft entry when the call returns. Etcd is safe for concurrent
// use.
type Etcd struct {
	c      *clientv3.Client
	prefix string
	once   sync.Once
	closeC bool
}

// NewEtcd returns a Store over c with every key under prefix (default
// "/insitu/"). With closeClient, Close closes c.
func NewEtcd(c *clientv3.Client, prefix string, closeClient bool) *Etcd {
	if prefix == "" {
		prefix = "/insitu/"
	}
	return &Etcd{c: c, prefix: prefix, closeC: closeClient}
}

func (e *Etcd) k(key string) string { return e.prefix + key }

// Get implements Store.
func (e *Etcd) Get(ctx context.Context, key string) ([]byte, error) {
	resp, err := e.c.Get(ctx, e.k(key))
	if err != nil {
		return nil, err
	}
	if len(resp.Kvs) == 0 {
		return nil, ErrNotFound
	}
	return resp.Kvs[0].Value, nil
}

// Put implements Store.
func (e *Etcd) Put(ctx context.Context, key string, value []byte) error {
	_, err := e.c.Put(ctx, e.k(key), string(value))
	return err
}

// Delete implements Store.
func (e *Etcd) Delete(ctx context.Context, key string) error {
	_, err := e.c.Delete(ctx, e.k(key))
	return err
}

// List implements Store.
func (e *Etcd) List(ctx context.Context, prefix string) ([]Pair, error) {
	resp, err := e.c.Get(ctx, e.k(prefix), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, err
	}
	return e.pairs(resp.Kvs, false), nil
}

// ListPage implements Store: one range read of at most page.Limit keys.
func (e *Etcd) ListPage(ctx context.Context, prefix string, page Page) ([]Pair, error) {
	if page.Limit <= 0 {
		page.Limit = DefaultPageLimit
	}
	start, end := e.k(prefix), clientv3.GetPrefixRangeEnd(e.k(prefix))
	order := clientv3.SortAscend
	if page.Reverse {
		order = clientv3.SortDescend
		if page.After != "" && e.k(page.After) < end {
			end = e.k(page.After) // exclusive
		}
	} else if page.After != "" && e.k(page.After)+"\x00" > start {
		start = e.k(page.After) + "\x00"
	}
	opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(int64(page.Limit)),
		clientv3.WithSort(clientv3.SortByKey, order)}
	if page.KeysOnly {
		opts = append(opts, clientv3.WithKeysOnly())
	}
	resp, err := e.c.Get(ctx, start, opts...)
	if err != nil {
		return nil, err
	}
	return e.pairs(resp.Kvs, page.KeysOnly), nil
}

func (e *Etcd) pairs(kvs []*mvccpb.KeyValue, keysOnly bool) []Pair {
	out := make([]Pair, 0, len(kvs))
	for _, kv := range kvs {
		p := Pair{Key: string(kv.Key)[len(e.prefix):]}
		if !keysOnly {
			p.Value = kv.Value
		}
		out = append(out, p)
	}
	return out
}

// CompareAndSwap implements Store with one etcd transaction.
func (e *Etcd) CompareAndSwap(ctx context.Context, key string, expect, value []byte) error {
	k := e.k(key)
	cmp := clientv3.Compare(clientv3.CreateRevision(k), "=", 0)
	if expect != nil {
		cmp = clientv3.Compare(clientv3.Value(k), "=", string(expect))
	}
	op := clientv3.OpDelete(k)
	if value != nil {
		op = clientv3.OpPut(k, string(value))
	}
	resp, err := e.c.Txn(ctx).If(cmp).Then(op).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return ErrConflict
	}
	return nil
}

// PutBatch implements Store with one etcd transaction of puts.
func (e *Etcd) PutBatch(ctx context.Context, pairs []Pair) error {
	if len(pairs) > MaxBatch {
		return ErrBatchTooLarge
	}
	ops := make([]clientv3.Op, len(pairs))
	for i, p := range pairs {
		ops[i] = clientv3.OpPut(e.k(p.Key), string(p.Value))
	}
	_, err := e.c.Txn(ctx).Then(ops...).Commit()
	return err
}

// Watch implements Store. The channel closes when ctx is done or the
// watch ends.
func (e *Etcd) Watch(ctx context.Context, prefix string) <-chan Event {
	out := make(chan Event, 64)
	wc := e.c.Watch(clientv3.WithRequireLeader(ctx), e.k(prefix), clientv3.WithPrefix())
	go func() {
		defer close(out)
		for resp := range wc {
			for _, ev := range resp.Events {
				x := Event{Key: string(ev.Kv.Key)[len(e.prefix):]}
				if ev.Type == clientv3.EventTypePut {
					x.Value = ev.Kv.Value
				}
				select {
				case out <- x:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// Close implements Store; it closes the client when NewEtcd was told to.
func (e *Etcd) Close() error {
	var err error
	e.once.Do(func() {
		if e.closeC {
			err = e.c.Close()
		}
	})
	return err
}
