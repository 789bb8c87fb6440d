package meta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble"
)

// Local is a Store on an embedded Pebble database. Writes are serialized by
// one mutex (control-plane traffic is small) and synced before returning,
// except PutBatchDeferred's (see Deferred), which a journal beside Pebble's
// files keeps until a synced write or the journal's own group sync.
type Local struct {
	db      *pebble.DB
	journal *journal

	mu       sync.Mutex // serializes writes and guards watchers
	watchers map[*watcher]struct{}
	closed   bool
}

type watcher struct {
	prefix string
	ch     chan Event
	done   <-chan struct{}
}

// OpenLocal opens (creating if needed) a local store in dir.
func OpenLocal(dir string) (*Local, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("meta: open %s: %w", dir, err)
	}
	j, err := replayJournal(db, filepath.Join(dir, journalName))
	if err != nil {
		db.Close()
		return nil, err
	}
	go j.syncLoop()
	return &Local{db: db, journal: j, watchers: map[*watcher]struct{}{}}, nil
}

// replayJournal opens the deferred-write journal and writes what a
// previous process left in it into db (synced, in the order written),
// then empties it.
func replayJournal(db *pebble.DB, path string) (*journal, error) {
	j, batches, err := openJournal(path)
	if err != nil {
		return nil, err
	}
	if len(batches) > 0 {
		b := db.NewBatch()
		for _, pairs := range batches {
			for _, p := range pairs {
				_ = b.Set([]byte(p.Key), p.Value, nil) // fails only on a closed batch
			}
		}
		err = b.Commit(pebble.Sync)
		b.Close()
	}
	if err == nil {
		err = j.reset()
	}
	if err != nil {
		j.f.Close()
		return nil, fmt.Errorf("meta: replay journal: %w", err)
	}
	return j, nil
}

// synced is called, with l.mu held, after a synced write: every deferred
// write before it is durable in Pebble's log now, so the journal empties.
// A failure to empty it is reported by the next deferred write.
func (l *Local) synced() {
	if err := l.journal.reset(); err != nil {
		l.journal.fail(err)
	}
}

// PutBatchDeferred implements Deferred: the pairs are in the journal (one
// write(2)) and in Pebble, unsynced, when it returns, visible to Get, List
// and watches at once.
func (l *Local) PutBatchDeferred(ctx context.Context, pairs []Pair) error {
	if len(pairs) > MaxBatch {
		return ErrBatchTooLarge
	}
	entry := encodeEntry(pairs)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return pebble.ErrClosed
	}
	if err := l.journal.append(entry); err != nil {
		return err
	}
	if err := l.commitPairs(ctx, pairs, pebble.NoSync); err != nil {
		return err
	}
	if l.journal.size > maxJournal {
		return l.checkpoint()
	}
	return nil
}

// checkpoint syncs Pebble's log and empties the journal; l.mu is held.
func (l *Local) checkpoint() error {
	if err := l.db.LogData(nil, pebble.Sync); err != nil {
		return err
	}
	return l.journal.reset()
}

// Get implements Store.
func (l *Local) Get(_ context.Context, key string) ([]byte, error) {
	v, closer, err := l.db.Get([]byte(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, key string, value []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.db.Set([]byte(key), value, pebble.Sync); err != nil {
		return err
	}
	l.synced()
	l.notify(ctx, key, value)
	return nil
}

// Delete implements Store.
func (l *Local) Delete(ctx context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.db.Delete([]byte(key), pebble.Sync); err != nil {
		return err
	}
	l.synced()
	l.notify(ctx, key, nil)
	return nil
}

// List implements Store.
func (l *Local) List(_ context.Context, prefix string) ([]Pair, error) {
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Pair
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, Pair{Key: string(it.Key()), Value: bytes.Clone(it.Value())})
	}
	return out, it.Error()
}

// ListPage implements Store.
func (l *Local) ListPage(_ context.Context, prefix string, page Page) ([]Pair, error) {
	if page.Limit <= 0 {
		page.Limit = DefaultPageLimit
	}
	opts, ok := pageBounds(prefix, page)
	if !ok {
		return nil, nil
	}
	it, err := l.db.NewIter(opts)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	first, next := it.First, it.Next
	if page.Reverse {
		first, next = it.Last, it.Prev
	}
	var out []Pair
	for ok := first(); ok && len(out) < page.Limit; ok = next() {
		p := Pair{Key: string(it.Key())}
		if !page.KeysOnly {
			p.Value = bytes.Clone(it.Value())
		}
		out = append(out, p)
	}
	return out, it.Error()
}

// CompareAndSwap implements Store.
func (l *Local) CompareAndSwap(ctx context.Context, key string, expect, value []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, err := l.Get(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		if expect != nil {
			return ErrConflict
		}
	case err != nil:
		return err
	default:
		if expect == nil || !bytes.Equal(cur, expect) {
			return ErrConflict
		}
	}
	if value == nil {
		err = l.db.Delete([]byte(key), pebble.Sync)
	} else {
		err = l.db.Set([]byte(key), value, pebble.Sync)
	}
	if err != nil {
		return err
	}
	l.synced()
	l.notify(ctx, key, value)
	return nil
}

// PutBatch implements Store: one Pebble batch, synced once.
func (l *Local) PutBatch(ctx context.Context, pairs []Pair) error {
	if len(pairs) > MaxBatch {
		return ErrBatchTooLarge
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.commitPairs(ctx, pairs, pebble.Sync); err != nil {
		return err
	}
	l.synced()
	return nil
}

// commitPairs writes pairs as one Pebble batch committed with opts and
// tells the watchers; l.mu is held.
func (l *Local) commitPairs(ctx context.Context, pairs []Pair, opts *pebble.WriteOptions) error {
	b := l.db.NewBatch()
	defer b.Close()
	for _, p := range pairs {
		if err := b.Set([]byte(p.Key), p.Value, nil); err != nil {
			return err
		}
	}
	if err := b.Commit(opts); err != nil {
		return err
	}
	for _, p := range pairs {
		l.notify(ctx, p.Key, p.Value)
	}
	return nil
}

// Watch implements Store.
func (l *Local) Watch(ctx context.Context, prefix string) <-chan Event {
	w := &watcher{prefix: prefix, ch: make(chan Event, 64), done: ctx.Done()}
	l.mu.Lock()
	l.watchers[w] = struct{}{}
	l.mu.Unlock()
	go func() {
		<-ctx.Done()
		l.mu.Lock()
		delete(l.watchers, w)
		close(w.ch)
		l.mu.Unlock()
	}()
	return w.ch
}

// notify must be called with l.mu held.
func (l *Local) notify(ctx context.Context, key string, value []byte) {
	// The event (and its copy of value) is made for the first watcher of
	// key: most writes (run records) have none.
	var ev Event
	made := false
	for w := range l.watchers {
		if !strings.HasPrefix(key, w.prefix) {
			continue
		}
		if !made {
			ev, made = Event{Key: key, Value: bytes.Clone(value)}, true
		}
		select {
		case w.ch <- ev:
		case <-w.done:
		case <-ctx.Done():
		}
	}
}

// Close implements Store.
func (l *Local) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return errors.Join(l.checkpoint(), l.journal.stop(), l.db.Close())
}

// pageBounds narrows prefix's range to the keys past page.After in the
// page's direction; ok is false when nothing can be in it.
func pageBounds(prefix string, page Page) (opts *pebble.IterOptions, ok bool) {
	lo, hi := []byte(prefix), prefixEnd(prefix) // hi nil: no upper bound
	switch {
	case page.After == "":
	case page.Reverse:
		if hi == nil || page.After < string(hi) {
			hi = []byte(page.After) // exclusive, as After is
		}
	case page.After >= prefix:
		lo = append([]byte(page.After), 0) // the smallest key past After
	}
	if hi != nil && bytes.Compare(lo, hi) >= 0 {
		return nil, false
	}
	return &pebble.IterOptions{LowerBound: lo, UpperBound: hi}, true
}

// prefixEnd returns the smallest key greater than every key with prefix.
func prefixEnd(prefix string) []byte {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return b[:i+1]
		}
	}
	return nil
}

// quietLogger drops Pebble's informational logs; fatal errors still panic.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
