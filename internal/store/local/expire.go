package local

import (
	"context"
	"errors"

	"github.com/insitu-cloud/insitu/internal/store"
)

// errNotSeen fails a conditional commit whose condition no longer holds.
var errNotSeen = errors.New("local: the version seen is no longer the latest")

// ExpireObject implements store.Expirer: under the key's commit lock it
// removes the object (unversioned) or puts a delete marker in front of it
// (versioning set) only if the latest record is still seen's version.
func (e *Engine) ExpireObject(ctx context.Context, bucket, key string, seen store.ObjectInfo) (bool, error) {
	if err := e.enter(); err != nil {
		return false, err
	}
	defer e.leave()
	still := func(old *objectRecord, exists bool) bool {
		return exists && !old.Deleted && sameVersion(old.info(bucket, key), seen)
	}
	err := e.commitObject(ctx, bucket, key, &objectRecord{Deleted: true, Marker: true}, commitOpts{ifLatest: still, removeUnversioned: true})
	if errors.Is(err, errNotSeen) {
		return false, nil
	}
	return err == nil, err
}

// sameVersion reports whether a and b describe the same write.
func sameVersion(a, b store.ObjectInfo) bool {
	return a.ETag == b.ETag && a.LastModified.Equal(b.LastModified) && a.Size == b.Size && a.VersionID == b.VersionID
}

// ExpireNoncurrent implements store.VersionExpirer.
func (e *Engine) ExpireNoncurrent(ctx context.Context, bucket, key, id string) (bool, error) {
	return e.expireVersion(ctx, bucket, key, id, func(latest *objectRecord) bool {
		return !isVersion(latest) || versionOf(latest) != id
	})
}

// ExpireDeleteMarker implements store.VersionExpirer.
func (e *Engine) ExpireDeleteMarker(ctx context.Context, bucket, key, id string) (bool, error) {
	return e.expireVersion(ctx, bucket, key, id, func(latest *objectRecord) bool {
		if !latest.Marker || versionOf(latest) != id {
			return false
		}
		older := false
		err := e.eachNoncurrent(bucket, key, func([]byte, *objectRecord) bool { older = true; return false })
		return err == nil && !older
	})
}

// expireVersion removes version id of bucket/key if ok(latest record)
// holds under the key lock.
func (e *Engine) expireVersion(ctx context.Context, bucket, key, id string, ok func(latest *objectRecord) bool) (bool, error) {
	if err := e.enter(); err != nil {
		return false, err
	}
	defer e.leave()
	if !validVersionID(id) {
		return false, store.ErrInvalidVersionID
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	bmu := e.bucketLock(bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	kmu := e.keyLock(bucket, key)
	kmu.Lock()
	file, removed, err := e.dropIf(bucket, key, id, ok)
	kmu.Unlock()
	if err != nil || !removed {
		return false, err
	}
	e.removeData(file)
	return true, nil
}

// dropIf is expireVersion's step under the key lock: it drops version id
// when it exists and ok(latest) holds, returning the file to unlink.
func (e *Engine) dropIf(bucket, key, id string, ok func(latest *objectRecord) bool) (string, bool, error) {
	var latest objectRecord
	found, err := e.getJSON(objectKey(bucket, key), &latest)
	if err != nil || !found || !ok(&latest) {
		return "", false, err
	}
	if !isVersion(&latest) || versionOf(&latest) != id {
		if _, rec, err := e.findNoncurrent(bucket, key, id); err != nil || rec == nil {
			return "", false, err
		}
	}
	_, file, err := e.dropVersion(bucket, key, id, false)
	return file, err == nil, err
}
