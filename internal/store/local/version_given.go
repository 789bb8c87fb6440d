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
// the key and a version whose removal by id left a tombstone here.
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
	rec.Sort = sortOf(rec) // the null version sorts by its stamp too
	if t, err := e.getTomb(bucket, key, versionOf(rec)); err != nil {
		return nil, "", err
	} else if t.removedBy(versionOf(rec), rec.Stamp) {
		return nil, "", store.ErrSuperseded // removed here by id (version_tomb.go)
	}
	if rec.VersionID == store.NullVersionID {
		return e.givenNullBatch(bucket, key, rec, old, exists)
	}
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
	if err := setRecord(b, versionKey(bucket, key, rec.Sort), rec); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// setRecord adds rec at index key k to b, with its f/ reverse entry and
// inline body.
func setRecord(b *pebble.Batch, k []byte, rec *objectRecord) error {
	if err := setJSON(b, k, rec); err != nil {
		return err
	}
	if rec.File != "" {
		b.Set(fileKey(rec.File), k, nil)
	}
	if rec.data != nil {
		b.Set(inlineKey(rec.File), rec.data, nil)
	}
	return nil
}

// givenNullBatch is givenVersionBatch for the null version (a cluster's
// write in a Suspended bucket): rec replaces the key's null version
// (current or noncurrent) when its stamp is newer, else the write is
// store.ErrSuperseded; then it goes where its sort puts it, as any given
// version does.
func (e *Engine) givenNullBatch(bucket, key string, rec, old *objectRecord, exists bool) (*pebble.Batch, string, error) {
	oldIsVersion := exists && isVersion(old)
	if exists && !rec.Stamp.After(old.Stamp) && (!oldIsVersion || versionOf(old) == store.NullVersionID) {
		return nil, "", store.ErrSuperseded // a newer tombstone or null version
	}
	if oldIsVersion && versionOf(old) == store.NullVersionID {
		return e.replaceLatestNull(bucket, key, rec, old)
	}
	b := e.db.NewBatch()
	dropped, err := e.dropNoncurrentNull(b, bucket, key, rec)
	if err == nil {
		switch {
		case !oldIsVersion:
			if exists {
				dropData(b, old) // a tombstone: no data
			}
			err = setRecord(b, objectKey(bucket, key), rec)
		case sortOf(old) < rec.Sort:
			err = setRecord(b, versionKey(bucket, key, rec.Sort), rec)
		default:
			if _, err = e.retireLatest(b, bucket, key, store.VersioningEnabled, old, true); err == nil {
				err = setRecord(b, objectKey(bucket, key), rec)
			}
		}
	}
	if err != nil {
		b.Close()
		return nil, "", err
	}
	return b, dropped, nil
}

// dropNoncurrentNull adds to b the removal of bucket/key's noncurrent
// null version, if any, and returns its data file; one at least as new as
// rec is store.ErrSuperseded.
func (e *Engine) dropNoncurrentNull(b *pebble.Batch, bucket, key string, rec *objectRecord) (string, error) {
	wk, nrec, err := e.findNoncurrent(bucket, key, store.NullVersionID)
	if err != nil || nrec == nil {
		return "", err
	}
	if !rec.Stamp.After(nrec.Stamp) {
		return "", store.ErrSuperseded
	}
	if err := b.Delete(wk, nil); err != nil {
		return "", err
	}
	return dropData(b, nrec), nil
}

// replaceLatestNull returns the batch that replaces bucket/key's latest
// version old, the null version, by rec: rec takes o/ when it is newer
// than every noncurrent version, else the newest noncurrent one does and
// rec goes to w/.
func (e *Engine) replaceLatestNull(bucket, key string, rec, old *objectRecord) (*pebble.Batch, string, error) {
	var next *objectRecord
	err := e.eachNoncurrent(bucket, key, func(_ []byte, r *objectRecord) bool {
		next = r
		return false
	})
	if err != nil {
		return nil, "", err
	}
	b := e.db.NewBatch()
	dropped := dropData(b, old)
	if next == nil || rec.Sort < sortOf(next) {
		err = setRecord(b, objectKey(bucket, key), rec)
	} else if err = e.promote(b, bucket, key); err == nil {
		err = setRecord(b, versionKey(bucket, key, rec.Sort), rec)
	}
	if err != nil {
		b.Close()
		return nil, "", err
	}
	return b, dropped, nil
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
