package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/store"
)

// ErrClosed is returned by every call made after Close.
var ErrClosed = errors.New("local: engine closed")

const (
	keyStripes    = 256
	bucketStripes = 64
)

// Engine is the local store.Engine. Create it with Open; it is safe for
// concurrent use.
type Engine struct {
	dir     string
	tmpDir  string
	objDir  string
	fs      FS
	log     *slog.Logger
	db      *pebble.DB
	seed    maphash.Seed
	bufPool sync.Pool // *[]byte of blockSize

	// puts counts the bodies being hashed; pipePool holds pipeHash chunks;
	// lanes hashes bodies side by side from laneMinPuts in flight (see
	// newBodyHash); Close stops its goroutine.
	puts     atomic.Int32
	pipePool sync.Pool
	lanes    *checksum.MD5Lanes

	// inlineMax is the largest body kept in the index (Options.InlineMax;
	// 0: none); inlinePool holds *[]byte probe buffers of inlineMax+1,
	// imagePool buffers for reading inline images.
	inlineMax  int
	cacheBytes int64 // Options.CacheBytes
	tombs      bool  // Options.VersionTombstones
	inlinePool sync.Pool
	imagePool  sync.Pool

	// life guards against use after Close: every call holds it for reading.
	life   sync.RWMutex
	closed bool

	bucketMu [bucketStripes]sync.RWMutex // DeleteBucket/CreateBucket write, commits read
	keyMu    [keyStripes]sync.Mutex      // per object key commit
	uploadMu [keyStripes]sync.Mutex      // per upload id

	// inflight holds ids of data files renamed into objects/ whose metadata
	// commit has not finished; the sweep leaves them alone.
	inflightMu sync.Mutex
	inflight   map[string]struct{}

	sweepCancel context.CancelFunc
	sweepDone   chan struct{}

	// listVisited counts index entries visited by listings (for tests).
	listVisited atomic.Int64

	closeOnce sync.Once
	closeErr  error
}

var _ store.Engine = (*Engine)(nil)

// Options configure OpenWith. The zero value is what production uses: the
// operating system's filesystem for both the data files and the index.
type Options struct {
	// Logger receives the engine's logs; nil means slog.Default().
	Logger *slog.Logger
	// FS holds the data files (tmp/ and objects/); nil means the OS.
	FS FS
	// IndexFS holds the Pebble index (index/); nil means vfs.Default.
	IndexFS vfs.FS
	// InlineMax is the largest object body (bytes) kept inside the index
	// with its record instead of in a data file, so its PUT is one synced
	// Pebble batch. 0 means DefaultInlineMax; negative keeps every body in
	// a data file. Multipart parts and completed uploads always use files.
	InlineMax int
	// CacheBytes is the size of the index's block cache, which holds
	// object records and inline bodies decoded in memory; 0 means
	// DefaultCacheBytes.
	CacheBytes int64
	// VersionTombstones makes every removal of a version by id
	// (DeleteObjectVersion, lifecycle expiration) keep a tombstone of it
	// (version_tomb.go), so a cluster's repair can tell a removed version
	// from one a replica missed. A cluster node sets it; a single node
	// leaves it false (nothing would ever drop the tombstones).
	VersionTombstones bool
}

// DefaultCacheBytes is the index block cache's default size: Pebble's own
// default (8 MiB) is churned by inline bodies, and every lookup then
// reads and decompresses a block again.
const DefaultCacheBytes = 64 << 20

// Open opens (creating if needed) the store under dir on the OS
// filesystem. It removes leftover temporary files and starts a background
// sweep of data files that no metadata references; Close stops it. logger
// may be nil (slog.Default).
func Open(ctx context.Context, dir string, logger *slog.Logger) (*Engine, error) {
	return OpenWith(ctx, dir, Options{Logger: logger})
}

// OpenWith is Open with options: tests run the same engine on filesystems
// that simulate a power loss.
func OpenWith(ctx context.Context, dir string, opts Options) (*Engine, error) {
	logger, dfs, ifs := opts.Logger, opts.FS, opts.IndexFS
	if logger == nil {
		logger = slog.Default()
	}
	if dfs == nil {
		dfs = newOSFS()
	}
	if ifs == nil {
		ifs = vfs.Default
	}
	e := &Engine{
		dir:      dir,
		tmpDir:   filepath.Join(dir, "tmp"),
		objDir:   filepath.Join(dir, "objects"),
		fs:       dfs,
		log:      logger.With("component", "store/local"),
		seed:     maphash.MakeSeed(),
		inflight: make(map[string]struct{}),
	}
	e.bufPool.New = func() any { b := make([]byte, blockSize); return &b }
	e.pipePool.New = func() any { b := make([]byte, pipeChunk); return &b }
	e.inlineMax, e.cacheBytes, e.tombs = opts.InlineMax, opts.CacheBytes, opts.VersionTombstones
	if e.inlineMax == 0 {
		e.inlineMax = DefaultInlineMax
	}
	if e.inlineMax > 0 {
		n := e.inlineMax + 1
		e.inlinePool.New = func() any { b := make([]byte, n); return &b }
	}
	img := imageSize(max(e.inlineMax, 0))
	e.imagePool.New = func() any { b := make([]byte, 0, img); return &b }
	if err := e.prepareDirs(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := e.openIndex(ifs); err != nil {
		return nil, err
	}
	e.lanes = checksum.NewMD5Lanes()
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.sweepCancel = cancel
	e.sweepDone = make(chan struct{})
	go func() {
		defer close(e.sweepDone)
		if err := e.sweep(sctx); err != nil && sctx.Err() == nil {
			e.log.Error("sweep failed", "err", err)
		}
	}()
	return e, nil
}

// openIndex creates index/ durably on ifs and opens Pebble in it.
func (e *Engine) openIndex(ifs vfs.FS) error {
	idx := filepath.Join(e.dir, "index")
	if err := mkdirSyncedVFS(ifs, idx); err != nil {
		return err
	}
	size := e.cacheBytes
	if size <= 0 {
		size = DefaultCacheBytes
	}
	cache := pebble.NewCache(size)
	defer cache.Unref() // the DB holds its own reference
	db, err := pebble.Open(idx, &pebble.Options{
		FS:     ifs,
		Logger: pebbleLogger{e.log},
		Cache:  cache,
	})
	if err != nil {
		return fmt.Errorf("local: open index: %w", err)
	}
	e.db = db
	return nil
}

// prepareDirs creates the directory tree, fsyncing every new entry, and
// empties tmp/.
func (e *Engine) prepareDirs() error {
	for _, d := range []string{e.tmpDir, e.objDir} {
		if err := e.mkdirSynced(d); err != nil {
			return err
		}
	}
	ents, err := e.fs.ReadDir(e.tmpDir)
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	for _, ent := range ents {
		if err := e.fs.RemoveAll(filepath.Join(e.tmpDir, ent.Name())); err != nil {
			return fmt.Errorf("local: clean tmp: %w", err)
		}
	}
	if len(ents) > 0 {
		e.log.Info("removed temporary files", "count", len(ents))
	}
	created := false
	for i := 0; i < 256; i++ {
		d := filepath.Join(e.objDir, hex2(i))
		if _, err := e.fs.Stat(d); err == nil {
			continue
		}
		if err := e.fs.Mkdir(d); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("local: %w", err)
		}
		created = true
	}
	if created {
		return e.syncDir(e.objDir)
	}
	return nil
}

// Close stops the sweep, waits for calls in progress and closes the index.
// It is idempotent; calls after Close return ErrClosed. Readers returned by
// GetObject stay usable after Close.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.sweepCancel()
		<-e.sweepDone
		e.life.Lock()
		e.closed = true
		e.life.Unlock()
		e.lanes.Close() // no put is in flight any more
		e.closeErr = e.db.Close()
	})
	return e.closeErr
}

// enter marks a call in progress; the caller must call e.leave.
func (e *Engine) enter() error {
	e.life.RLock()
	if e.closed {
		e.life.RUnlock()
		return ErrClosed
	}
	return nil
}

func (e *Engine) leave() { e.life.RUnlock() }

func (e *Engine) stripe(parts ...string) uint64 {
	var h maphash.Hash
	h.SetSeed(e.seed)
	for _, p := range parts {
		h.WriteString(p)
		h.WriteByte(0)
	}
	return h.Sum64()
}

func (e *Engine) bucketLock(bucket string) *sync.RWMutex {
	return &e.bucketMu[e.stripe(bucket)%bucketStripes]
}

func (e *Engine) keyLock(bucket, key string) *sync.Mutex {
	return &e.keyMu[e.stripe(bucket, key)%keyStripes]
}

func (e *Engine) uploadLock(id string) *sync.Mutex {
	return &e.uploadMu[e.stripe(id)%keyStripes]
}

func (e *Engine) getBuf() []byte { return *(e.bufPool.Get().(*[]byte)) }

func (e *Engine) putBuf(b []byte) {
	if cap(b) >= blockSize {
		b = b[:blockSize]
		e.bufPool.Put(&b)
	}
}

// getJSON loads key into v; it reports false when the key is absent.
func (e *Engine) getJSON(key []byte, v any) (bool, error) {
	val, closer, err := e.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("local: index get: %w", err)
	}
	defer closer.Close()
	if err := json.Unmarshal(val, v); err != nil {
		return false, fmt.Errorf("local: index value of %q: %w", key, err)
	}
	return true, nil
}

// has reports whether key exists.
func (e *Engine) has(key []byte) (bool, error) {
	_, closer, err := e.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("local: index get: %w", err)
	}
	closer.Close()
	return true, nil
}

// setJSON adds key=json(v) to b.
func setJSON(b *pebble.Batch, key []byte, v any) error {
	val, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Set(key, val, nil)
}

// commit applies b durably and closes it.
func (e *Engine) commit(b *pebble.Batch) error {
	defer b.Close()
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("local: index commit: %w", err)
	}
	return nil
}

// bucketExists returns store.ErrNoSuchBucket when bucket is missing.
func (e *Engine) bucketExists(bucket string) error {
	ok, err := e.has(bucketKey(bucket))
	if err != nil {
		return err
	}
	if !ok {
		return store.ErrNoSuchBucket
	}
	return nil
}

// dataPath is where the data file with id lives.
func (e *Engine) dataPath(id string) string {
	return filepath.Join(e.objDir, id[:2], id)
}

func (e *Engine) markInflight(id string) {
	e.inflightMu.Lock()
	e.inflight[id] = struct{}{}
	e.inflightMu.Unlock()
}

func (e *Engine) unmarkInflight(id string) {
	e.inflightMu.Lock()
	delete(e.inflight, id)
	e.inflightMu.Unlock()
}

func (e *Engine) isInflight(id string) bool {
	e.inflightMu.Lock()
	defer e.inflightMu.Unlock()
	_, ok := e.inflight[id]
	return ok
}

// removeData unlinks data files after their metadata is gone; failures are
// logged (the sweep at the next Open retries).
func (e *Engine) removeData(ids ...string) {
	for _, id := range ids {
		if id == "" {
			continue
		}
		if err := e.fs.Remove(e.dataPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			e.log.Warn("remove data file", "file", id, "err", err)
		}
	}
}

// pebbleLogger routes Pebble's logging to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "source", "pebble")
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "source", "pebble")
	panic(fmt.Sprintf(format, args...))
}
