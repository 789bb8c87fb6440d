package local

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/insitu-cloud/insitu/internal/store"
)

// CreateBucket creates b. It returns store.ErrBucketOwnedByYou when the
// bucket exists with the same owner and store.ErrBucketExists when another
// owner has it. A zero b.Created is set to now.
func (e *Engine) CreateBucket(ctx context.Context, b store.BucketInfo) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	return e.createBucket(ctx, b)
}

// createBucket is CreateBucket for callers that are already inside the
// engine (e.enter held).
func (e *Engine) createBucket(ctx context.Context, b store.BucketInfo) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	mu := e.bucketLock(b.Name)
	mu.Lock()
	defer mu.Unlock()
	var old store.BucketInfo
	ok, err := e.getJSON(bucketKey(b.Name), &old)
	if err != nil {
		return err
	}
	if ok {
		if old.Owner == b.Owner {
			return store.ErrBucketOwnedByYou
		}
		return store.ErrBucketExists
	}
	if b.Created.IsZero() {
		b.Created = time.Now().UTC()
	}
	batch := e.db.NewBatch()
	if err := setJSON(batch, bucketKey(b.Name), b); err != nil {
		batch.Close()
		return err
	}
	return e.commit(batch)
}

// GetBucket returns the bucket or store.ErrNoSuchBucket.
func (e *Engine) GetBucket(ctx context.Context, bucket string) (store.BucketInfo, error) {
	if err := e.enter(); err != nil {
		return store.BucketInfo{}, err
	}
	defer e.leave()
	var b store.BucketInfo
	ok, err := e.getJSON(bucketKey(bucket), &b)
	if err != nil {
		return store.BucketInfo{}, err
	}
	if !ok {
		return store.BucketInfo{}, store.ErrNoSuchBucket
	}
	return b, nil
}

// ListBuckets returns every bucket in name order.
func (e *Engine) ListBuckets(ctx context.Context) ([]store.BucketInfo, error) {
	if err := e.enter(); err != nil {
		return nil, err
	}
	defer e.leave()
	it, err := e.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte(pfxBucket),
		UpperBound: []byte(successor(pfxBucket)),
	})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []store.BucketInfo
	for it.First(); it.Valid(); it.Next() {
		var b store.BucketInfo
		if err := json.Unmarshal(it.Value(), &b); err != nil {
			return nil, fmt.Errorf("local: bucket %q: %w", it.Key(), err)
		}
		out = append(out, b)
	}
	return out, it.Error()
}

// DeleteBucket removes an empty bucket. Only objects and versions (delete
// markers included) count: in-progress
// multipart uploads are aborted with it and tombstones dropped with it. It returns store.ErrBucketNotEmpty
// when an object exists and store.ErrNoSuchBucket when there is no bucket.
func (e *Engine) DeleteBucket(ctx context.Context, bucket string) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	mu := e.bucketLock(bucket)
	mu.Lock()
	defer mu.Unlock()
	if err := e.bucketExists(bucket); err != nil {
		return err
	}
	live, err := e.hasLiveObject(ctx, bucket)
	if err != nil {
		return err
	}
	if live {
		return store.ErrBucketNotEmpty
	}
	batch := e.db.NewBatch()
	base := objectBase(bucket) // only tombstones are left
	if err := batch.DeleteRange([]byte(base), []byte(successor(base)), nil); err != nil {
		batch.Close()
		return err
	}
	files, err := e.dropUploads(batch, bucket)
	if err != nil {
		batch.Close()
		return err
	}
	if err := batch.Delete(bucketKey(bucket), nil); err != nil {
		batch.Close()
		return err
	}
	if err := e.commit(batch); err != nil {
		return err
	}
	e.removeData(files...)
	return nil
}

// hasLiveObject reports whether bucket holds an object that is not a
// tombstone.
func (e *Engine) hasLiveObject(ctx context.Context, bucket string) (bool, error) {
	base := objectBase(bucket)
	it, err := e.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte(base),
		UpperBound: []byte(successor(base)),
	})
	if err != nil {
		return false, err
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%256 == 0 && ctx.Err() != nil {
			return false, ctx.Err()
		}
		var rec objectRecord
		if err := json.Unmarshal(it.Value(), &rec); err != nil {
			return false, fmt.Errorf("local: object %q: %w", it.Key(), err)
		}
		if isVersion(&rec) {
			return true, nil
		}
	}
	if err := it.Error(); err != nil {
		return false, err
	}
	return e.hasNoncurrent(bucket)
}

// hasNoncurrent reports whether bucket holds a noncurrent version.
func (e *Engine) hasNoncurrent(bucket string) (bool, error) {
	base := versionBucketBase(bucket)
	it, err := e.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte(base),
		UpperBound: []byte(successor(base)),
	})
	if err != nil {
		return false, err
	}
	defer it.Close()
	return it.First(), it.Error()
}

// dropUploads adds to batch the deletion of every upload of bucket with its
// parts, and returns the part files to unlink after the commit.
func (e *Engine) dropUploads(batch *pebble.Batch, bucket string) ([]string, error) {
	base := uploadBase(bucket)
	it, err := e.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte(base),
		UpperBound: []byte(successor(base)),
	})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var files []string
	for it.First(); it.Valid(); it.Next() {
		_, id, ok := splitUploadKey(string(it.Key()[len(base):]))
		if !ok {
			continue
		}
		if err := batch.Delete(it.Key(), nil); err != nil {
			return nil, err
		}
		f, err := e.dropParts(batch, id)
		if err != nil {
			return nil, err
		}
		files = append(files, f...)
	}
	return files, it.Error()
}
