package runs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// Bounds of one group commit of run records.
const (
	// maxBatchRecords is the most records one commit writes (meta.MaxBatch).
	maxBatchRecords = meta.MaxBatch
	// maxBatchBytes is the most record bytes one commit writes (etcd takes
	// requests of up to 1.5 MiB by default).
	maxBatchBytes = 1 << 20
	// commitTimeout bounds one commit.
	commitTimeout = 30 * time.Second
)

// groupCommit writes run records in batches off the request path: every
// record that arrives while a commit is in flight joins the next batch,
// and that batch is committed (one meta.PutBatch: one synced Pebble batch,
// one etcd transaction) as soon as the commit before it returns. No
// timer waits for company, so a record is durable within one commit of
// the one in flight (well under 100 ms); a caller waits for its own
// batch's commit, which it shares with every caller in it, so a run is
// never answered before its record is durable. A batch holds at most
// maxBatchRecords records and maxBatchBytes bytes (one larger record goes
// alone).
//
// On a store whose writes can be deferred (meta.AsDeferred: a single
// node's Pebble), a record skips the batches: it is written at once with
// PutBatchDeferred, in the kernel (so it survives a crash of the process)
// when put returns and durable on the disk within meta.DeferredSyncDelay
// (one fdatasync shared by every record of that time), so no caller waits
// for a sync. Elsewhere (etcd) every batch is a synced transaction.
//
// One goroutine commits (none on a deferring store); close stops it after
// it has written every record accepted before close, and later records are
// written one by one. Safe
// for concurrent use.
type groupCommit struct {
	kv       meta.Store
	deferred meta.Deferred // nil: batches
	log      *slog.Logger

	mu     sync.Mutex
	queue  []*batch // the last one is still open
	closed bool

	wake chan struct{} // capacity 1
	done chan struct{} // closed when the committer returns
}

// batch is one commit: its records and the error every caller gets.
type batch struct {
	pairs []meta.Pair
	bytes int
	done  chan struct{}
	err   error
}

// newGroupCommit starts the committer; close stops it.
func newGroupCommit(kv meta.Store, log *slog.Logger) *groupCommit {
	g := &groupCommit{kv: kv, log: log, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if g.deferred, _ = meta.AsDeferred(kv); g.deferred != nil {
		close(g.done) // no batches: no committer
		return g
	}
	go g.run()
	return g
}

// put writes key=value with the next commit and returns once that commit
// did (its error: the whole batch failed).
func (g *groupCommit) put(ctx context.Context, key string, value []byte) error {
	if g.deferred != nil {
		return g.deferred.PutBatchDeferred(ctx, []meta.Pair{{Key: key, Value: value}})
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return g.kv.Put(ctx, key, value)
	}
	b := g.open(len(key) + len(value))
	b.pairs = append(b.pairs, meta.Pair{Key: key, Value: value})
	b.bytes += len(key) + len(value)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	<-b.done
	return b.err
}

// open returns the batch a record of n bytes joins; g.mu must be held.
func (g *groupCommit) open(n int) *batch {
	if k := len(g.queue); k > 0 {
		b := g.queue[k-1]
		if len(b.pairs) < maxBatchRecords && (b.bytes+n <= maxBatchBytes || len(b.pairs) == 0) {
			return b
		}
	}
	b := &batch{done: make(chan struct{})}
	g.queue = append(g.queue, b)
	return b
}

// run commits batches in order until closed and drained.
func (g *groupCommit) run() {
	defer close(g.done)
	for {
		b, closed := g.take()
		if b == nil {
			if closed {
				return
			}
			<-g.wake
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
		b.err = g.kv.PutBatch(ctx, b.pairs)
		cancel()
		if b.err != nil {
			g.log.Error("commit run records", "records", len(b.pairs), "err", b.err)
		}
		close(b.done)
	}
}

// take removes the oldest batch (nil when none) and reports closed.
func (g *groupCommit) take() (*batch, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		return nil, g.closed
	}
	b := g.queue[0]
	g.queue[0] = nil
	g.queue = g.queue[1:]
	return b, g.closed
}

// close writes every record accepted so far, then stops the committer.
// It is idempotent.
func (g *groupCommit) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	<-g.done
}
