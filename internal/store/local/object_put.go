package local

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/google/uuid"

	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/blockfile"
)

// ingested is a data file written and fsynced in tmp/, not yet installed.
type ingested struct {
	id       string
	tmp      string
	size     int64
	md5      []byte
	checksum *store.Checksum
	// data is the blockfile image of a body kept inline (ingestBody);
	// then there is no tmp file and id only names the body.
	data []byte
}

// ingest streams r into a new temporary data file, computing its MD5, block
// CRCs and, when alg is set, that checksum, then checks size and the
// expected digests of opts. On error the temporary file is gone. A read
// error from r is returned as is (wrapped).
func (e *Engine) ingest(ctx context.Context, r io.Reader, size int64, alg string, opts store.PutOptions) (*ingested, error) {
	id := uuid.NewString()
	tmp := filepath.Join(e.tmpDir, id)
	f, err := e.fs.Create(tmp, opts.Cache)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	ing, err := e.ingestTo(ctx, f, r, size, alg, opts)
	if err == nil {
		if err = f.Close(); err != nil {
			err = fmt.Errorf("local: write data: %w", err)
		}
	} else {
		f.Close()
	}
	if err != nil {
		e.fs.Remove(tmp)
		return nil, err
	}
	ing.id, ing.tmp = id, tmp
	return ing, nil
}

// ingestTo streams r into dst in the blockfile format (Finish included,
// which syncs dst), hashing and checking it as ingest says. The caller
// names the result (id) and owns dst.
func (e *Engine) ingestTo(ctx context.Context, dst blockfile.SyncWriter, r io.Reader, size int64, alg string, opts store.PutOptions) (*ingested, error) {
	var ck hash.Hash
	if alg != "" {
		a, ok := checksum.Canonical(alg)
		if !ok {
			return nil, fmt.Errorf("local: %w: %q", checksum.ErrUnsupported, alg)
		}
		alg = a
		ck, _ = checksum.New(alg)
	}
	wbuf := e.getBuf()
	defer e.putBuf(wbuf)

	bw := blockfile.NewWriter(dst, wbuf)
	bh := e.newBodyHash(opts)
	defer bh.stop()
	src := io.Reader(r)
	if size >= 0 {
		src = io.LimitReader(r, size+1)
	}
	n, err := copyHashed(ctx, bw, bh.h, ck, src)
	if err != nil {
		return nil, err
	}
	if size >= 0 && n != size {
		return nil, fmt.Errorf("%w: read %d bytes, declared %d", store.ErrIncompleteBody, n, size)
	}
	ing := &ingested{size: n}
	if ing.md5, err = bh.etag(bw); err != nil {
		return nil, err
	}
	if opts.MD5 != nil && !bytes.Equal(opts.MD5, ing.md5) {
		return nil, fmt.Errorf("%w: Content-MD5", store.ErrBadDigest)
	}
	if ck != nil {
		ing.checksum = &store.Checksum{Algorithm: alg, Value: checksum.Encode(ck.Sum(nil)), Type: "FULL_OBJECT"}
	}
	if opts.ExpectedChecksum != nil {
		if want := opts.ExpectedChecksum(); want != "" {
			if ing.checksum == nil || ing.checksum.Value != want {
				return nil, fmt.Errorf("%w: x-amz-checksum", store.ErrBadDigest)
			}
		}
	}
	if err := bw.Finish(); err != nil {
		return nil, fmt.Errorf("local: write data: %w", err)
	}
	return ing, nil
}

// bodyHash hashes a body for its ETag: with MD5, or, when a coordinator
// supplies the digest (PutOptions.KnownDigest), not at all: the
// coordinator's CRC-32C is checked against the one the block CRCs fold
// into (blockfile.Writer.DataCRC), so the bytes are hashed once.
type bodyHash struct {
	h     hash.Hash // nil with known
	lane  func()    // releases h when it is on e.lanes
	known func() (store.BodyDigest, error)
	puts  *atomic.Int32 // Engine.puts, counted in by newBodyHash; nil with known
}

// laneMinPuts is how many puts must be in flight for a new one to hash on
// the SIMD lanes (minio/md5-simd, see checksum.MD5Lanes): enough to fill
// an AVX2 pass. With fewer, a cycle of the lanes' server is mostly empty
// and its bookkeeping per 32 KiB costs more than it saves (in the cluster
// bench, where a node coordinated about 5 puts at once, the server's
// loop took more CPU than the MD5 it replaced).
const laneMinPuts = 8

// newBodyHash returns the hash of a body about to be read: with no more
// than pipeMaxPuts puts in flight its MD5 runs on a goroutine of its own
// (pipeHash), from laneMinPuts on it shares the SIMD lanes of e.lanes with
// the other puts', in between it is crypto/md5 inline. stop releases it.
func (e *Engine) newBodyHash(opts store.PutOptions) bodyHash {
	if opts.KnownDigest != nil {
		return bodyHash{known: opts.KnownDigest}
	}
	b := bodyHash{puts: &e.puts}
	switch n := e.puts.Add(1); {
	case n <= pipeMaxPuts:
		b.h = newPipeHash(md5.New(), &e.pipePool)
	case n >= laneMinPuts:
		b.h, b.lane = e.lanes.Hash()
	default:
		b.h = md5.New()
	}
	return b
}

// stop ends a pipelined hash's goroutine, leaves the lanes and counts the
// put out.
func (b bodyHash) stop() {
	if p, ok := b.h.(*pipeHash); ok {
		p.stop()
	}
	if b.lane != nil {
		b.lane()
	}
	if b.puts != nil {
		b.puts.Add(-1)
	}
}

// etag returns the body's MD5 once all of it has been written to bw.
func (b bodyHash) etag(bw *blockWriter) ([]byte, error) {
	if b.known == nil {
		return b.h.Sum(nil), nil
	}
	d, err := b.known()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrIncompleteBody, err)
	}
	if len(d.MD5) != md5.Size || bw.DataCRC() != d.CRC32C {
		return nil, fmt.Errorf("%w: the body differs from the coordinator's digest", store.ErrBadDigest)
	}
	return d.MD5, nil
}

// hashPiece is the least copyHashed hands the hashes at a time, unless
// the block writer's space or the body ends first. The SIMD lanes pay a
// round of their server for every write, whatever its size: fed the
// pieces a form's file part comes out of mime/multipart in, that
// bookkeeping took about 40% of the server's CPU (BENCHMARKS.md, POST
// 16 MiB at 16 connections).
const hashPiece = 64 << 10

// copyHashed copies src into bw, md and ck (both may be nil), reading
// straight into bw's Space (the data file's own buffer when it is
// direct) at least hashPiece bytes at a time where the space allows,
// checking ctx between pieces. Read errors are returned wrapped.
func copyHashed(ctx context.Context, bw *blockWriter, md, ck hash.Hash, src io.Reader) (int64, error) {
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		space := bw.Space()
		c, rerr := readPiece(src, space, min(hashPiece, len(space)))
		if c > 0 {
			p := space[:c]
			if md != nil {
				md.Write(p)
			}
			if ck != nil {
				ck.Write(p)
			}
			if err := bw.Fill(c); err != nil {
				return n, fmt.Errorf("local: write data: %w", err)
			}
			n += int64(c)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("local: read body: %w", rerr)
		}
	}
}

// readPiece reads src into p until it holds least bytes or a read fails
// (io.EOF included), and returns that error with the bytes read before
// it. Unlike io.ReadAtLeast it never drops an error that comes with the
// last bytes: a body's verdict (a bad digest, a short or long body) often
// arrives with them.
func readPiece(src io.Reader, p []byte, least int) (int, error) {
	n := 0
	for n < least {
		c, err := src.Read(p[n:])
		n += c
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// install renames an ingested file into objects/ and fsyncs its directory.
// The file is marked in flight (hidden from the sweep) until the caller's
// deferred e.settle.
func (e *Engine) install(ing *ingested) error {
	if ing.data != nil {
		return nil // inline: committed with the record
	}
	e.markInflight(ing.id)
	dst := e.dataPath(ing.id)
	if err := e.fs.Rename(ing.tmp, dst); err != nil {
		e.unmarkInflight(ing.id)
		e.fs.Remove(ing.tmp)
		return fmt.Errorf("local: install data: %w", err)
	}
	if err := e.syncDir(filepath.Dir(dst)); err != nil {
		e.settle(ing, false)
		return err
	}
	return nil
}

// settle ends the in-flight state of an installed file; when the metadata
// commit failed the file is removed.
func (e *Engine) settle(ing *ingested, committed bool) {
	if ing.data != nil {
		return
	}
	if !committed {
		e.removeData(ing.id)
	}
	e.unmarkInflight(ing.id)
}

// PutObject stores r as bucket/key; see store.Engine. The body is streamed
// to disk (bounded memory); only the final metadata commit is serialized
// with other writers of the same key.
func (e *Engine) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, opts store.PutOptions) (store.ObjectInfo, error) {
	if err := e.enter(); err != nil {
		return store.ObjectInfo{}, err
	}
	defer e.leave()
	if err := e.bucketExists(bucket); err != nil {
		return store.ObjectInfo{}, err
	}
	if opts.IfNoneMatchStar {
		if _, err := e.lookupRecord(bucket, key); err == nil {
			return store.ObjectInfo{}, store.ErrPreconditionFailed
		} else if !errors.Is(err, store.ErrNoSuchKey) {
			return store.ObjectInfo{}, err
		}
	}
	ing, err := e.ingestBody(ctx, r, size, opts.ChecksumAlgorithm, opts)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	if err := e.install(ing); err != nil {
		return store.ObjectInfo{}, err
	}
	rec := &objectRecord{
		Size:     ing.size,
		ETag:     hex.EncodeToString(ing.md5),
		Meta:     opts.Meta,
		Checksum: ing.checksum,
		Stamp:    opts.Stamp,
		Modified: opts.Modified.UTC(),
	}
	ing.setBody(rec)
	if opts.VersionID != "" {
		rec.VersionID, rec.Sort = opts.VersionID, opts.VersionID
		if rec.Modified.IsZero() {
			rec.Modified = time.Now().UTC()
		}
		err = e.commitGivenVersion(ctx, bucket, key, rec, nil)
	} else {
		err = e.commitObject(ctx, bucket, key, rec, commitOpts{ifNoneMatch: opts.IfNoneMatchStar, keepModified: !opts.Modified.IsZero()})
	}
	e.settle(ing, err == nil)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	return rec.info(bucket, key), nil
}

// commitOpts tune commitObject.
type commitOpts struct {
	// ifNoneMatch fails the commit with store.ErrPreconditionFailed when an
	// object (not a tombstone) is held.
	ifNoneMatch bool
	// keepModified keeps rec.Modified (replicas); otherwise it is set to now.
	keepModified bool
	// extra, when set, adds more operations to the same batch
	// (CompleteMultipartUpload drops the upload with it); it runs under the
	// key lock and may fail the commit.
	extra func(b *pebble.Batch) error
	// replica applies the stamp rule even to a zero rec.Stamp (replica
	// writes; see installs).
	replica bool
	// extraOnSuperseded commits extra's operations alone when rec loses to
	// the stamp held (the upload is consumed all the same).
	extraOnSuperseded bool
	// ifLatest, when set, is a condition on the record held (exists false:
	// none), checked under the key lock; when it fails the commit fails
	// with errNotSeen and nothing changes.
	ifLatest func(old *objectRecord, exists bool) bool
	// removeUnversioned makes rec (a delete marker) remove the key outright
	// in a bucket without versioning, as DeleteObject does there.
	removeUnversioned bool
}

// commitObject publishes rec (an object or a tombstone) as bucket/key,
// replacing (and afterwards unlinking) any previous version. When rec
// carries a non-zero stamp it is installed only if that stamp is After the
// one held (zero when nothing is), compared under the key lock at commit
// time; otherwise store.ErrSuperseded and nothing changes.
func (e *Engine) commitObject(ctx context.Context, bucket, key string, rec *objectRecord, o commitOpts) error {
	bmu := e.bucketLock(bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	kmu := e.keyLock(bucket, key)
	kmu.Lock()
	var oldFile string
	var gone []string
	err := func() error {
		defer kmu.Unlock()
		if err := ctx.Err(); err != nil {
			return err
		}
		state, lock, err := e.bucketConf(bucket)
		if err != nil {
			return err
		}
		if lock == nil && !o.replica && rec.Meta.HasLock() {
			return store.ErrObjectLockNotEnabled
		}
		var old objectRecord
		exists, err := e.getJSON(objectKey(bucket, key), &old)
		if err != nil {
			return err
		}
		if exists && !old.Deleted && o.ifNoneMatch {
			return store.ErrPreconditionFailed
		}
		if o.ifLatest != nil && !o.ifLatest(&old, exists) {
			return errNotSeen
		}
		if state == store.VersioningUnset && o.removeUnversioned {
			oldFile, err = e.removeHeld(bucket, key, &old)
			return err
		}
		if state != store.VersioningUnset && !o.replica {
			gone, err = e.commitVersion(bucket, key, state, lock, rec, &old, exists, o.extra)
			return err
		}
		if (o.replica || !rec.Stamp.IsZero()) && exists && old.VersionID != "" && rec.VersionID == "" {
			gone, err = e.commitAsVersion(bucket, key, rec, &old)
			return err
		}
		if !installs(rec, &old, exists, o.replica) {
			return e.commitSuperseded(o)
		}
		if !o.keepModified {
			rec.Modified = time.Now().UTC()
		}
		b, err := e.objectBatch(bucket, key, rec, o.extra)
		if err != nil {
			return err
		}
		var dropped string
		if exists && old.File != rec.File {
			dropped = dropData(b, &old)
		}
		if err := e.commit(b); err != nil {
			return err
		}
		oldFile = dropped
		return nil
	}()
	if err != nil {
		return err
	}
	// Readers that opened the old file keep reading it; unlink is safe.
	e.removeData(oldFile)
	e.removeData(gone...)
	return nil
}

// removeHeld commits the removal of bucket/key's record old (held, in a
// bucket without versioning) and returns its data file to unlink.
func (e *Engine) removeHeld(bucket, key string, old *objectRecord) (string, error) {
	b := e.db.NewBatch()
	b.Delete(objectKey(bucket, key), nil)
	file := dropData(b, old)
	if err := e.commit(b); err != nil {
		return "", err
	}
	return file, nil
}

// installs reports whether rec may replace old (exists false: nothing is
// held). An unstamped plain write always does; otherwise rec's stamp must
// be After old's, except that an object (stamped or not) installs over
// nothing, so an unstamped object can be repaired onto another node.
func installs(rec, old *objectRecord, exists, replica bool) bool {
	switch {
	case rec.Stamp.IsZero() && !replica:
		return true
	case !exists && !rec.Deleted:
		return true
	}
	return rec.Stamp.After(old.Stamp)
}

// objectBatch returns a new batch holding extra's operations and rec as
// bucket/key (with its f/ reverse entry when rec has a data file).
func (e *Engine) objectBatch(bucket, key string, rec *objectRecord, extra func(*pebble.Batch) error) (*pebble.Batch, error) {
	b := e.db.NewBatch()
	if extra != nil {
		if err := extra(b); err != nil {
			b.Close()
			return nil, err
		}
	}
	if err := setJSON(b, objectKey(bucket, key), rec); err != nil {
		b.Close()
		return nil, err
	}
	if rec.File != "" {
		b.Set(fileKey(rec.File), objectKey(bucket, key), nil)
	}
	if rec.data != nil {
		b.Set(inlineKey(rec.File), rec.data, nil)
	}
	return b, nil
}

// commitSuperseded is the end of a commit that lost to a newer stamp: it
// commits o.extra alone when asked, and returns store.ErrSuperseded.
func (e *Engine) commitSuperseded(o commitOpts) error {
	if o.extra == nil || !o.extraOnSuperseded {
		return store.ErrSuperseded
	}
	b := e.db.NewBatch()
	if err := o.extra(b); err != nil {
		b.Close()
		return err
	}
	if err := e.commit(b); err != nil {
		return err
	}
	return store.ErrSuperseded
}
