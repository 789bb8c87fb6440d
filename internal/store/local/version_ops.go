package local

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/insitu-cloud/insitu/internal/store"
)

// lookupVersion returns bucket/key's version id: the latest when its id
// matches, else the noncurrent one. It returns store.ErrInvalidVersionID,
// store.ErrNoSuchVersion, store.ErrNoSuchBucket, or a *DeleteMarkerError
// (store.ErrVersionIsDeleteMarker) for a delete marker.
func (e *Engine) lookupVersion(bucket, key, id string) (*objectRecord, error) {
	if !validVersionID(id) {
		return nil, store.ErrInvalidVersionID
	}
	var rec objectRecord
	ok, err := e.getJSON(objectKey(bucket, key), &rec)
	if err != nil {
		return nil, err
	}
	found := ok && isVersion(&rec) && versionOf(&rec) == id
	if !found && ok {
		_, nrec, err := e.findNoncurrent(bucket, key, id)
		if err != nil {
			return nil, err
		}
		if nrec != nil {
			rec, found = *nrec, true
		}
	}
	if !found {
		if err := e.bucketExists(bucket); err != nil {
			return nil, err
		}
		return nil, store.ErrNoSuchVersion
	}
	if rec.Marker {
		return nil, &store.DeleteMarkerError{VersionID: rec.VersionID, Err: store.ErrVersionIsDeleteMarker}
	}
	rec.VersionID = versionOf(&rec)
	return &rec, nil
}

// HeadObjectVersion returns one version's metadata; see store.Versioned.
func (e *Engine) HeadObjectVersion(ctx context.Context, bucket, key, versionID string) (store.ObjectInfo, error) {
	if err := e.enter(); err != nil {
		return store.ObjectInfo{}, err
	}
	defer e.leave()
	rec, err := e.lookupVersion(bucket, key, versionID)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	return rec.info(bucket, key), nil
}

// GetObjectVersion opens one version; the reader verifies blocks as
// GetObject's does. See store.Versioned.
func (e *Engine) GetObjectVersion(ctx context.Context, bucket, key, versionID string, rng *store.Range) (store.ObjectInfo, io.ReadCloser, error) {
	if err := e.enter(); err != nil {
		return store.ObjectInfo{}, nil, err
	}
	defer e.leave()
	return e.openObject(ctx, bucket, key, rng, func() (*objectRecord, error) {
		return e.lookupVersion(bucket, key, versionID)
	})
}

// DeleteObjectVersion removes one version, or with versionID "" deletes
// the key (a delete marker where versioning is set); see store.Versioned.
func (e *Engine) DeleteObjectVersion(ctx context.Context, bucket, key, versionID string) (store.DeleteResult, error) {
	if err := e.enter(); err != nil {
		return store.DeleteResult{}, err
	}
	defer e.leave()
	if versionID != "" {
		return e.deleteVersion(ctx, bucket, key, versionID, false)
	}
	state, err := e.bucketState(bucket)
	if err != nil {
		return store.DeleteResult{}, err
	}
	if state == store.VersioningUnset {
		return store.DeleteResult{}, e.deleteUnversioned(bucket, key)
	}
	return e.deleteLatest(ctx, bucket, key)
}

// deleteLatest writes a delete marker as bucket/key's latest version (a
// bucket with versioning set; Suspended makes it the null version).
func (e *Engine) deleteLatest(ctx context.Context, bucket, key string) (store.DeleteResult, error) {
	rec := &objectRecord{Deleted: true, Marker: true}
	if err := e.commitObject(ctx, bucket, key, rec, commitOpts{}); err != nil {
		return store.DeleteResult{}, err
	}
	return store.DeleteResult{VersionID: rec.VersionID, DeleteMarker: true}, nil
}

// deleteVersion removes version id of bucket/key for good, unless it is
// locked (bypass lifts GOVERNANCE retention only). When it was the latest,
// the newest noncurrent version becomes the latest, in the same batch.
func (e *Engine) deleteVersion(ctx context.Context, bucket, key, id string, bypass bool) (store.DeleteResult, error) {
	if !validVersionID(id) {
		return store.DeleteResult{}, store.ErrInvalidVersionID
	}
	if err := ctx.Err(); err != nil {
		return store.DeleteResult{}, err
	}
	bmu := e.bucketLock(bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	kmu := e.keyLock(bucket, key)
	kmu.Lock()
	res, file, err := e.dropVersion(bucket, key, id, bypass)
	kmu.Unlock()
	if err != nil {
		return store.DeleteResult{}, err
	}
	e.removeData(file)
	return res, nil
}

// dropVersion commits the removal of version id under the key lock and
// returns the data file to unlink. It is the one place a version is
// removed by id (DeleteObjectVersion, lifecycle expiration): a locked
// version (store.ObjectMeta.LockedAt; bypass lifts GOVERNANCE) is
// store.ErrObjectLocked and stays. With Options.VersionTombstones the
// batch keeps a tombstone of the version, also of an id other than null
// not held here (version_tomb.go).
func (e *Engine) dropVersion(bucket, key, id string, bypass bool) (store.DeleteResult, string, error) {
	if err := e.bucketExists(bucket); err != nil {
		return store.DeleteResult{}, "", err
	}
	res := store.DeleteResult{VersionID: id}
	b := e.db.NewBatch()
	gone, err := e.takeVersion(b, bucket, key, id, func(rec *objectRecord) error {
		if rec.Meta.LockedAt(time.Now(), bypass) {
			return store.ErrObjectLocked
		}
		return nil
	})
	if err == nil && e.tombs && (gone != nil || id != store.NullVersionID) {
		var stamp store.Stamp // a version not held: its copy may be in flight
		if gone != nil {
			stamp = gone.Stamp
		}
		err = e.addTomb(b, bucket, key, id, stamp)
	}
	if err != nil || b.Empty() {
		b.Close()
		return res, "", err
	}
	file := ""
	if gone != nil {
		res.DeleteMarker = gone.Marker
		file = dropData(b, gone)
	}
	if err := e.commit(b); err != nil {
		return store.DeleteResult{}, "", err
	}
	return res, file, nil
}

// takeVersion adds to b the removal of version id of bucket/key (the
// newest noncurrent version promoted when it is the latest) once check
// accepts its record, and returns that record; nil when the version is
// not held (b unchanged). The caller holds the key lock.
func (e *Engine) takeVersion(b *pebble.Batch, bucket, key, id string, check func(*objectRecord) error) (*objectRecord, error) {
	var latest objectRecord
	ok, err := e.getJSON(objectKey(bucket, key), &latest)
	if err != nil || !ok {
		return nil, err
	}
	if isVersion(&latest) && versionOf(&latest) == id {
		if err := check(&latest); err != nil {
			return nil, err
		}
		return &latest, e.promote(b, bucket, key)
	}
	wk, rec, err := e.findNoncurrent(bucket, key, id)
	if err != nil || rec == nil {
		return nil, err
	}
	if err := check(rec); err != nil {
		return nil, err
	}
	return rec, b.Delete(wk, nil)
}

// promote adds to b the replacement of bucket/key's latest version by its
// newest noncurrent one, or the key's removal when it has none.
func (e *Engine) promote(b *pebble.Batch, bucket, key string) error {
	var wk []byte
	var next *objectRecord
	err := e.eachNoncurrent(bucket, key, func(k []byte, rec *objectRecord) bool {
		wk, next = append([]byte(nil), k...), rec
		return false
	})
	if err != nil {
		return err
	}
	if next == nil {
		return b.Delete(objectKey(bucket, key), nil)
	}
	if err := b.Delete(wk, nil); err != nil {
		return err
	}
	if next.File != "" {
		b.Set(fileKey(next.File), objectKey(bucket, key), nil)
	}
	return setJSON(b, objectKey(bucket, key), next)
}

// SetObjectACL sets the canned ACL of bucket/key's version versionID (""
// for the latest) in its record, in place: the version keeps its id, data
// and LastModified. See store.Versioned.
func (e *Engine) SetObjectACL(ctx context.Context, bucket, key, versionID, acl string) error {
	return e.updateVersion(ctx, bucket, key, versionID, func(rec *objectRecord) error {
		rec.Meta.ACL = acl
		return nil
	})
}

// SetVersionACLAt is SetObjectACL as a cluster replica applies a stamped
// change: a change not newer than the copy's ACLStamp is ignored (a later
// one reached it first); else the copy takes acl and the stamp.
func (e *Engine) SetVersionACLAt(ctx context.Context, bucket, key, versionID, acl string, stamp store.Stamp) error {
	return e.updateSettings(ctx, bucket, key, versionID, func(rec *objectRecord) error {
		if !stamp.IsZero() && !stamp.After(rec.Meta.ACLStamp) {
			return errStaleSetting
		}
		rec.Meta.ACL, rec.Meta.ACLStamp = acl, stamp
		return nil
	})
}

// SyncVersionSettings gives this node's copy of version versionID of
// bucket/key, when it carries exactly stamp, the ACL and lock settings of
// m that are newer than its own (store.ObjectMeta.TakeSettings): repair
// bringing a change the copy missed. Nothing newer changes nothing.
func (e *Engine) SyncVersionSettings(ctx context.Context, bucket, key, versionID string, stamp store.Stamp, m store.ObjectMeta) error {
	return e.updateSettings(ctx, bucket, key, versionID, func(rec *objectRecord) error {
		if rec.Stamp != stamp || !rec.Meta.TakeSettings(m) {
			return errStaleSetting
		}
		return nil
	})
}

// errStaleSetting says a settings change has nothing to change.
var errStaleSetting = errors.New("local: the setting held is as new")

// updateSettings is updateVersion for a settings change: one that
// returns errStaleSetting changes nothing and is not an error.
func (e *Engine) updateSettings(ctx context.Context, bucket, key, versionID string, set func(*objectRecord) error) error {
	err := e.updateVersion(ctx, bucket, key, versionID, set)
	if errors.Is(err, errStaleSetting) {
		return nil
	}
	return err
}

// updateVersion rewrites bucket/key's version versionID ("" for the
// latest) in place with what set changes, under the key lock, in one
// synced commit; an error from set changes nothing.
func (e *Engine) updateVersion(ctx context.Context, bucket, key, versionID string, set func(*objectRecord) error) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	bmu := e.bucketLock(bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	kmu := e.keyLock(bucket, key)
	kmu.Lock()
	defer kmu.Unlock()
	rk, err := e.versionRecordKey(bucket, key, versionID)
	if err != nil {
		return err
	}
	var rec objectRecord
	if _, err := e.getJSON(rk, &rec); err != nil {
		return err
	}
	if err := set(&rec); err != nil {
		return err
	}
	b := e.db.NewBatch()
	if err := setJSON(b, rk, &rec); err != nil {
		b.Close()
		return err
	}
	return e.commit(b)
}

// versionRecordKey returns the index key of bucket/key's version id (""
// for the latest), or the error a read of it gets.
func (e *Engine) versionRecordKey(bucket, key, id string) ([]byte, error) {
	if id == "" {
		_, err := e.lookupRecord(bucket, key)
		return objectKey(bucket, key), err
	}
	rec, err := e.lookupVersion(bucket, key, id)
	if err != nil {
		return nil, err
	}
	var latest objectRecord
	ok, err := e.getJSON(objectKey(bucket, key), &latest)
	if err != nil {
		return nil, err
	}
	if ok && isVersion(&latest) && versionOf(&latest) == id {
		return objectKey(bucket, key), nil
	}
	return versionKey(bucket, key, sortOf(rec)), nil
}
