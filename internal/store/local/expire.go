package local

import (
	"context"

	"github.com/insitu-cloud/insitu/internal/store"
)

// ExpireObject implements store.Expirer: under the key's commit lock, it
// deletes the object only if its record still has seen's ETag and
// LastModified.
func (e *Engine) ExpireObject(ctx context.Context, bucket, key string, seen store.ObjectInfo) (bool, error) {
	if err := e.enter(); err != nil {
		return false, err
	}
	defer e.leave()
	bmu := e.bucketLock(bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	kmu := e.keyLock(bucket, key)
	kmu.Lock()
	var rec objectRecord
	ok, err := e.getJSON(objectKey(bucket, key), &rec)
	if err != nil || !ok || rec.Deleted || !sameVersion(rec.info(bucket, key), seen) {
		kmu.Unlock()
		return false, err
	}
	b := e.db.NewBatch()
	b.Delete(objectKey(bucket, key), nil)
	b.Delete(fileKey(rec.File), nil)
	err = e.commit(b)
	kmu.Unlock()
	if err != nil {
		return false, err
	}
	e.removeData(rec.File)
	return true, nil
}

// sameVersion reports whether a and b describe the same write.
func sameVersion(a, b store.ObjectInfo) bool {
	return a.ETag == b.ETag && a.LastModified.Equal(b.LastModified) && a.Size == b.Size
}
