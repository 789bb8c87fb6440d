package local

import (
	"context"
	"errors"
	"io"
	"io/fs"

	"github.com/insitu-cloud/insitu/internal/store"
)

// lookupObject returns the record of bucket/key, store.ErrNoSuchKey (also
// for a tombstone), or store.ErrNoSuchBucket. An object written before its
// bucket had versioning is the null version: its VersionID reads "null"
// once the bucket has versioning set, as S3 answers.
func (e *Engine) lookupObject(bucket, key string) (*objectRecord, error) {
	rec, err := e.lookupRecord(bucket, key)
	if err != nil || rec.VersionID != "" {
		return rec, err
	}
	state, err := e.bucketState(bucket)
	if err != nil {
		return nil, err
	}
	if state != store.VersioningUnset {
		rec.VersionID = store.NullVersionID
	}
	return rec, nil
}

// lookupRecord is lookupObject without the null version's id.
func (e *Engine) lookupRecord(bucket, key string) (*objectRecord, error) {
	var rec objectRecord
	ok, err := e.getJSON(objectKey(bucket, key), &rec)
	if err != nil {
		return nil, err
	}
	if ok && rec.Marker {
		return nil, &store.DeleteMarkerError{VersionID: rec.VersionID, Err: store.ErrNoSuchKey}
	}
	if !ok || rec.Deleted {
		if err := e.bucketExists(bucket); err != nil {
			return nil, err
		}
		return nil, store.ErrNoSuchKey
	}
	return &rec, nil
}

// HeadObject returns the object's metadata without opening its data.
func (e *Engine) HeadObject(ctx context.Context, bucket, key string) (store.ObjectInfo, error) {
	if err := e.enter(); err != nil {
		return store.ObjectInfo{}, err
	}
	defer e.leave()
	rec, err := e.lookupObject(bucket, key)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	return rec.info(bucket, key), nil
}

// GetObject opens bucket/key and returns a reader of rng (nil: the whole
// object). The data file is opened before GetObject returns, so a
// concurrent overwrite or delete does not disturb the reader. The reader
// verifies every 64 KiB block before returning its bytes (store.ErrCorrupt
// on mismatch), uses one block buffer, is not safe for concurrent use, and
// must be closed.
func (e *Engine) GetObject(ctx context.Context, bucket, key string, rng *store.Range) (store.ObjectInfo, io.ReadCloser, error) {
	if err := e.enter(); err != nil {
		return store.ObjectInfo{}, nil, err
	}
	defer e.leave()
	return e.openObject(ctx, bucket, key, rng, func() (*objectRecord, error) { return e.lookupObject(bucket, key) })
}

// openObject opens the data of the record lookup returns, looking again
// when the file was replaced or deleted between lookup and open.
func (e *Engine) openObject(ctx context.Context, bucket, key string, rng *store.Range, lookup func() (*objectRecord, error)) (store.ObjectInfo, io.ReadCloser, error) {
	var tried string
	for {
		if err := ctx.Err(); err != nil {
			return store.ObjectInfo{}, nil, err
		}
		rec, err := lookup()
		if err != nil {
			return store.ObjectInfo{}, nil, err
		}
		off, n := int64(0), rec.Size
		if rng != nil {
			if off, n, err = rng.Resolve(rec.Size); err != nil {
				return store.ObjectInfo{}, nil, err
			}
		}
		bf, err := e.openData(rec)
		if errors.Is(err, fs.ErrNotExist) {
			if rec.File == tried {
				// Still referenced but gone: the store lost it.
				return store.ObjectInfo{}, nil, corruptf("%s/%s: data file %s is missing", bucket, key, rec.File)
			}
			// Replaced or deleted between lookup and open: look again.
			tried = rec.File
			continue
		}
		if err != nil {
			return store.ObjectInfo{}, nil, err
		}
		br := newBlockReader(bf, off, n, e.getBuf(), e.putBuf)
		br.CountIn(&e.streams)
		return rec.info(bucket, key), br, nil
	}
}

// DeleteObject removes bucket/key; a missing key is not an error. It
// leaves no tombstone, and leaves a tombstone held for the key alone.
func (e *Engine) DeleteObject(ctx context.Context, bucket, key string) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	state, err := e.bucketState(bucket)
	if err != nil {
		return err
	}
	if state != store.VersioningUnset {
		_, err := e.deleteLatest(ctx, bucket, key)
		return err
	}
	return e.deleteUnversioned(bucket, key)
}

// deleteUnversioned is DeleteObject in a bucket that never had versioning.
func (e *Engine) deleteUnversioned(bucket, key string) error {
	bmu := e.bucketLock(bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	kmu := e.keyLock(bucket, key)
	kmu.Lock()
	var rec objectRecord
	ok, err := e.getJSON(objectKey(bucket, key), &rec)
	if err != nil || !ok || rec.Deleted {
		kmu.Unlock()
		if err != nil {
			return err
		}
		return e.bucketExists(bucket)
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
