package local

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cockroachdb/pebble"

	"github.com/insitu-cloud/insitu/internal/store"
)

var _ store.Replicas = (*Engine)(nil)

// ensureBucket creates bucket (BucketInfo{Name: bucket}) when missing. The
// caller holds e.enter (so it does not enter again: a recursive read lock
// would deadlock against a waiting Close).
func (e *Engine) ensureBucket(ctx context.Context, bucket string) error {
	if err := e.bucketExists(bucket); !errors.Is(err, store.ErrNoSuchBucket) {
		return err
	}
	err := e.createBucket(ctx, store.BucketInfo{Name: bucket})
	if errors.Is(err, store.ErrBucketOwnedByYou) || errors.Is(err, store.ErrBucketExists) {
		return nil // created meanwhile
	}
	return err
}

// PutReplica stores r as info describes; see store.Replicas. The body is
// streamed to a data file with fresh block checksums and verified against
// info where it can be: exactly info.Size bytes (store.ErrIncompleteBody),
// the MD5 when info.ETag is one, and a FULL_OBJECT checksum
// (store.ErrBadDigest). A zero info.Stamp (an object a single node wrote)
// installs when nothing is held for the key, and never over anything.
func (e *Engine) PutReplica(ctx context.Context, info store.ObjectInfo, r io.Reader) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	if info.Deleted {
		return errors.New("local: PutReplica of a tombstone")
	}
	if err := e.ensureBucket(ctx, info.Bucket); err != nil {
		return err
	}
	rec := replicaRecord(info)
	if info.DeleteMarker {
		return e.commitGivenVersion(ctx, info.Bucket, info.Key, rec, nil)
	}
	if err := e.precheck(info.Bucket, info.Key, rec); err != nil {
		return err
	}
	// A repair's copy is not read soon (and should not push what is out
	// of the page cache).
	opts := store.PutOptions{Cache: store.CacheNone}
	if md, err := hex.DecodeString(info.ETag); err == nil && len(md) == 16 {
		opts.MD5 = md
	}
	if c := info.Checksum; c.Type == "FULL_OBJECT" && c.Algorithm != "" {
		opts.ChecksumAlgorithm = c.Algorithm
		opts.ExpectedChecksum = func() string { return c.Value }
	}
	ing, err := e.ingestBody(ctx, r, info.Size, opts.ChecksumAlgorithm, opts)
	if err != nil {
		return err
	}
	if err := e.install(ing); err != nil {
		return err
	}
	ing.setBody(rec)
	if rec.VersionID != "" {
		err = e.commitGivenVersion(ctx, info.Bucket, info.Key, rec, nil)
	} else {
		err = e.commitObject(ctx, info.Bucket, info.Key, rec, commitOpts{keepModified: true, replica: true})
	}
	e.settle(ing, err == nil)
	return err
}

// precheck returns store.ErrSuperseded when rec already loses to what is
// held, so a stale replica is refused before its body is read. It is only
// a shortcut: the commit compares again under the key lock. Versions
// (rec's or the key's) are not compared by stamp: an older one is kept
// as a noncurrent version (version_given.go); a version whose removal
// left a tombstone here is refused (version_tomb.go).
func (e *Engine) precheck(bucket, key string, rec *objectRecord) error {
	var old objectRecord
	exists, err := e.getJSON(objectKey(bucket, key), &old)
	if err != nil {
		return err
	}
	if rec.VersionID != "" {
		t, err := e.getTomb(bucket, key, versionOf(rec))
		if err == nil && t.removedBy(versionOf(rec), rec.Stamp) {
			err = store.ErrSuperseded // removed here by id
		}
		return err
	}
	if exists && old.VersionID != "" {
		return nil
	}
	if !installs(rec, &old, exists, true) {
		return store.ErrSuperseded
	}
	return nil
}

// replicaRecord is the index record of info, without its data file.
func replicaRecord(info store.ObjectInfo) *objectRecord {
	rec := &objectRecord{
		Size:     info.Size,
		ETag:     info.ETag,
		Modified: info.LastModified,
		Meta:     info.Meta,
		Stamp:    info.Stamp,
	}
	if info.VersionID != "" {
		rec.VersionID, rec.Sort = info.VersionID, info.VersionID
	}
	if info.DeleteMarker {
		rec.Deleted, rec.Marker = true, true
	}
	if info.Checksum != (store.Checksum{}) {
		c := info.Checksum
		rec.Checksum = &c
	}
	if info.Parts != nil {
		rec.Parts = make([]partRef, len(info.Parts))
		for i, p := range info.Parts {
			rec.Parts[i] = partRef{N: p.Number, S: p.Size, E: p.ETag, C: p.Checksum.Value}
		}
	}
	return rec
}

// DeleteReplica records a tombstone for bucket/key; see store.Replicas.
func (e *Engine) DeleteReplica(ctx context.Context, bucket, key string, stamp store.Stamp) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	if err := e.ensureBucket(ctx, bucket); err != nil {
		return err
	}
	rec := &objectRecord{Deleted: true, Stamp: stamp}
	return e.commitObject(ctx, bucket, key, rec, commitOpts{replica: true})
}

// Lookup returns the object or tombstone held for bucket/key, or
// store.ErrNoSuchKey; see store.Replicas.
func (e *Engine) Lookup(ctx context.Context, bucket, key string) (store.ObjectInfo, error) {
	if err := e.enter(); err != nil {
		return store.ObjectInfo{}, err
	}
	defer e.leave()
	var rec objectRecord
	ok, err := e.getJSON(objectKey(bucket, key), &rec)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	if !ok {
		return store.ObjectInfo{}, store.ErrNoSuchKey
	}
	return rec.info(bucket, key), nil
}

// walkBatch is how many entries Walk reads per index scan.
const walkBatch = 256

// Walk calls fn with every object and tombstone in (bucket, key) order
// after (afterBucket, afterKey); see store.Replicas. It reads walkBatch
// entries at a time and runs fn with no iterator open and outside the
// engine's lifetime lock, so fn may call the engine (Drop, PutReplica).
func (e *Engine) Walk(ctx context.Context, afterBucket, afterKey string, fn func(store.ObjectInfo) error) error {
	from := []byte(pfxObject)
	if afterBucket != "" || afterKey != "" {
		from = append(objectKey(afterBucket, afterKey), 0)
	}
	return e.walkPrefix(ctx, pfxObject, from, objectInfoOf, fn)
}

// objectInfoOf decodes an o/ entry: rest is its key after the prefix.
func objectInfoOf(rest string, val []byte) (store.ObjectInfo, error) {
	bucket, key, found := strings.Cut(rest, "\x00")
	if !found {
		return store.ObjectInfo{}, errors.New("malformed object key")
	}
	var rec objectRecord
	if err := json.Unmarshal(val, &rec); err != nil {
		return store.ObjectInfo{}, err
	}
	return rec.info(bucket, key), nil
}

// Drop forgets bucket/key when what is held carries exactly stamp; see
// store.Replicas.
func (e *Engine) Drop(ctx context.Context, bucket, key string, stamp store.Stamp) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	bmu := e.bucketLock(bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	kmu := e.keyLock(bucket, key)
	kmu.Lock()
	var rec objectRecord
	ok, err := e.getJSON(objectKey(bucket, key), &rec)
	if err != nil || !ok || rec.Stamp != stamp || rec.VersionID != "" {
		kmu.Unlock() // a version is not dropped: its key's other versions hang on it
		return err
	}
	b := e.db.NewBatch()
	b.Delete(objectKey(bucket, key), nil)
	file := dropData(b, &rec)
	err = e.commit(b)
	kmu.Unlock()
	if err != nil {
		return err
	}
	e.removeData(file)
	return nil
}

// dropChunk is how many objects DropBucket removes per index batch.
const dropChunk = 1000

// DropBucket removes bucket with its objects, tombstones, noncurrent
// versions, version tombstones, uploads and data files; see
// store.Replicas. It holds the bucket's lock throughout, so
// writes to the bucket wait, and commits in chunks of dropChunk objects
// before removing the uploads and the bucket last: a crash midway leaves
// the bucket with fewer objects, and a second DropBucket finishes it.
func (e *Engine) DropBucket(ctx context.Context, bucket string) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	mu := e.bucketLock(bucket)
	mu.Lock()
	defer mu.Unlock()
	if err := e.bucketExists(bucket); errors.Is(err, store.ErrNoSuchBucket) {
		return nil
	} else if err != nil {
		return err
	}
	for _, base := range []string{objectBase(bucket), versionBucketBase(bucket)} {
		for more := true; more; {
			if err := ctx.Err(); err != nil {
				return err
			}
			var err error
			if more, err = e.dropObjects(base); err != nil {
				return err
			}
		}
	}
	batch := e.db.NewBatch()
	files, err := e.dropUploads(batch, bucket)
	if err == nil {
		tb := tombBucketBase(bucket)
		err = batch.DeleteRange([]byte(tb), []byte(successor(tb)), nil)
	}
	if err == nil {
		err = batch.Delete(bucketKey(bucket), nil)
	}
	if err != nil {
		batch.Close()
		return err
	}
	if err := e.commit(batch); err != nil {
		return err
	}
	e.removeData(files...)
	return nil
}

// dropObjects removes up to dropChunk records under base (a bucket's
// objects and tombstones, or its noncurrent versions) in one commit and
// unlinks their data files; more reports that it removed some (call
// again).
func (e *Engine) dropObjects(base string) (more bool, err error) {
	it, err := e.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte(base),
		UpperBound: []byte(successor(base)),
	})
	if err != nil {
		return false, err
	}
	batch := e.db.NewBatch()
	var files []string
	n := 0
	for ok := it.First(); ok && n < dropChunk; ok = it.Next() {
		var rec objectRecord
		if err := json.Unmarshal(it.Value(), &rec); err != nil {
			it.Close()
			batch.Close()
			return false, fmt.Errorf("local: object %q: %w", it.Key(), err)
		}
		batch.Delete(it.Key(), nil)
		if f := dropData(batch, &rec); f != "" {
			files = append(files, f)
		}
		n++
	}
	err = it.Error()
	it.Close()
	if err != nil || n == 0 {
		batch.Close()
		return false, err
	}
	if err := e.commit(batch); err != nil {
		return false, err
	}
	e.removeData(files...)
	return true, nil
}
