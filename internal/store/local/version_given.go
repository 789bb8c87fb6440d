package local

import (
	"context"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/insitu-cloud/insitu/internal/store"
)

// A cluster stores each version of a key as a replicated record whose id
// the coordinator made (store.VersionIDOf its stamp), so every replica
// holds the same id: a put with store.PutOptions.VersionID, and
// PutReplica of an ObjectInfo carrying a VersionID (a delete marker too).
// Such a record goes where its id sorts among the key's versions, whatever
// the bucket's local versioning state and whatever order the versions
// arrive in: the newest becomes the o/ record (the previous latest moves
// to w/), an older one goes straight to w/.

// commitGivenVersion stores rec (VersionID set; an object or a delete
// marker) as that version of bucket/key under the key lock, in one synced
// batch with extra's operations (nil: none; a completed upload's). A
// version already held is store.ErrSuperseded and nothing changes (extra
// does not run), as is a version older than a replica tombstone held for
// the key.
func (e *Engine) commitGivenVersion(ctx context.Context, bucket, key string, rec *objectRecord, extra func(*pebble.Batch) error) error {
	bmu := e.bucketLock(bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	kmu := e.keyLock(bucket, key)
	kmu.Lock()
	var gone string
	err := func() error {
		defer kmu.Unlock()
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := e.bucketExists(bucket); err != nil {
			return err
		}
		var old objectRecord
		exists, err := e.getJSON(objectKey(bucket, key), &old)
		if err != nil {
			return err
		}
		b, dropped, err := e.givenVersionBatch(bucket, key, rec, &old, exists)
		if err != nil {
			return err
		}
		if extra != nil {
			if err := extra(b); err != nil {
				b.Close()
				return err
			}
		}
		if err := e.commit(b); err != nil {
			return err
		}
		gone = dropped
		return nil
	}()
	if err != nil {
		return err
	}
	e.removeData(gone)
	return nil
}

// givenVersionBatch returns the batch that places rec among bucket/key's
// versions (old is the o/ record, held when exists) and the data file it
// drops; the caller holds the key lock.
func (e *Engine) givenVersionBatch(bucket, key string, rec, old *objectRecord, exists bool) (*pebble.Batch, string, error) {
	rec.Sort = ""
	if rec.VersionID != store.NullVersionID {
		rec.Sort = rec.VersionID
	}
	rec.Sort = sortOf(rec)
	oldIsVersion := exists && isVersion(old)
	switch {
	case oldIsVersion && versionOf(old) == rec.VersionID:
		return nil, "", store.ErrSuperseded
	case exists && !oldIsVersion && !rec.Stamp.After(old.Stamp):
		return nil, "", store.ErrSuperseded // a newer replica tombstone
	}
	if oldIsVersion {
		wk, held, err := e.findNoncurrent(bucket, key, rec.VersionID)
		if err != nil {
			return nil, "", err
		}
		if held != nil || wk != nil {
			return nil, "", store.ErrSuperseded
		}
		if sortOf(old) < rec.Sort {
			b, err := e.noncurrentBatch(bucket, key, rec)
			return b, "", err
		}
	}
	b, err := e.objectBatch(bucket, key, rec, nil)
	if err != nil {
		return nil, "", err
	}
	if !oldIsVersion {
		if exists {
			return b, dropData(b, old), nil
		}
		return b, "", nil
	}
	if _, err := e.retireLatest(b, bucket, key, store.VersioningEnabled, old, true); err != nil {
		b.Close()
		return nil, "", err
	}
	return b, "", nil
}

// noncurrentBatch returns a batch writing rec as a noncurrent version of
// bucket/key (with its f/ reverse entry and inline body).
func (e *Engine) noncurrentBatch(bucket, key string, rec *objectRecord) (*pebble.Batch, error) {
	b := e.db.NewBatch()
	wk := versionKey(bucket, key, rec.Sort)
	if err := setJSON(b, wk, rec); err != nil {
		b.Close()
		return nil, err
	}
	if rec.File != "" {
		b.Set(fileKey(rec.File), wk, nil)
	}
	if rec.data != nil {
		b.Set(inlineKey(rec.File), rec.data, nil)
	}
	return b, nil
}

// commitAsVersion commits a replica or stamped write without a version
// id (an object, or a tombstone that becomes a delete marker) that
// reached a key already holding versions (old, its o/ record): a writer
// that had not yet seen the bucket's versioning. It is stored as the
// version its stamp names (store.VersionIDOf), so it neither overwrites
// the latest version nor is lost. The caller holds the key lock; it
// returns the data files to unlink.
func (e *Engine) commitAsVersion(bucket, key string, rec, old *objectRecord) ([]string, error) {
	rec.VersionID = store.VersionIDOf(rec.Stamp)
	rec.Marker = rec.Deleted
	if rec.Modified.IsZero() {
		rec.Modified = time.Now().UTC()
	}
	b, dropped, err := e.givenVersionBatch(bucket, key, rec, old, true)
	if err != nil {
		return nil, err
	}
	if err := e.commit(b); err != nil {
		return nil, err
	}
	if dropped == "" {
		return nil, nil
	}
	return []string{dropped}, nil
}
