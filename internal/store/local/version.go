package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/insitu-cloud/insitu/internal/store"
)

// Versioning keeps a key's latest version (object or delete marker) in its
// o/ record, exactly where an unversioned bucket keeps its object, so reads
// of the latest version cost what they cost without versioning. Noncurrent
// versions live under w/<bucket>\x00<key>\x00<sort>, with the same record
// format, data files and f/ reverse keys (pointing at the w/ key). A key
// has w/ records only while it has an o/ record.
//
// A version id is 16 hex digits of the bitwise complement of the write's
// Unix nanoseconds, then 8 random hex digits: ids of one key sort newest
// first. A new version's id is made under the key lock and forced below the
// latest's, so the order holds even if the clock steps back.

var _ store.Versioned = (*Engine)(nil)

// bucketRecord is the index value of b/<bucket>: the BucketInfo plus the
// versioning state.
type bucketRecord struct {
	store.BucketInfo
	Versioning string `json:",omitempty"`
	// ObjectLock is set once Object Lock is enabled (objectlock.go); such
	// a bucket's Versioning is Enabled.
	ObjectLock *store.ObjectLockConfig `json:",omitempty"`
}

var versioningField = []byte(`"Versioning"`)

// bucketState returns the versioning state of bucket with one index read
// (the same read bucketExists makes), or store.ErrNoSuchBucket.
func (e *Engine) bucketState(bucket string) (string, error) {
	state, _, err := e.bucketConf(bucket)
	return state, err
}

// bucketConf is bucketState with the bucket's Object Lock configuration
// (nil without one); a bucket that never had versioning is not decoded.
func (e *Engine) bucketConf(bucket string) (string, *store.ObjectLockConfig, error) {
	val, closer, err := e.db.Get(bucketKey(bucket))
	if errors.Is(err, pebble.ErrNotFound) {
		return "", nil, store.ErrNoSuchBucket
	}
	if err != nil {
		return "", nil, fmt.Errorf("local: index get: %w", err)
	}
	defer closer.Close()
	if !bytes.Contains(val, versioningField) {
		return store.VersioningUnset, nil, nil
	}
	var rec bucketRecord
	if err := json.Unmarshal(val, &rec); err != nil {
		return "", nil, fmt.Errorf("local: bucket %q: %w", bucket, err)
	}
	return rec.Versioning, rec.ObjectLock, nil
}

// SetBucketVersioning sets bucket's versioning state; see store.Versioned.
func (e *Engine) SetBucketVersioning(ctx context.Context, bucket, state string) error {
	if state != store.VersioningEnabled && state != store.VersioningSuspended {
		return store.ErrInvalidVersioningState
	}
	return e.updateBucket(ctx, bucket, func(rec *bucketRecord) (bool, error) {
		if rec.Versioning == state {
			return false, nil
		}
		if rec.ObjectLock != nil && state != store.VersioningEnabled {
			return false, store.ErrInvalidBucketState
		}
		rec.Versioning = state
		return true, nil
	})
}

// updateBucket changes bucket's record under its lock: edit gets the
// stored record and reports whether it changed it (a changed record is
// committed, synced) or why it refuses. A missing bucket is
// store.ErrNoSuchBucket.
func (e *Engine) updateBucket(ctx context.Context, bucket string, edit func(*bucketRecord) (bool, error)) error {
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
	var rec bucketRecord
	ok, err := e.getJSON(bucketKey(bucket), &rec)
	if err != nil {
		return err
	}
	if !ok {
		return store.ErrNoSuchBucket
	}
	if changed, err := edit(&rec); err != nil || !changed {
		return err
	}
	b := e.db.NewBatch()
	if err := setJSON(b, bucketKey(bucket), rec); err != nil {
		b.Close()
		return err
	}
	return e.commit(b)
}

// BucketVersioning returns bucket's versioning state; see store.Versioned.
func (e *Engine) BucketVersioning(ctx context.Context, bucket string) (string, error) {
	if err := e.enter(); err != nil {
		return "", err
	}
	defer e.leave()
	return e.bucketState(bucket)
}

// validVersionID reports whether id is "null" or an id this engine issues.
func validVersionID(id string) bool { return store.ValidVersionID(id) }

// versionOf is rec's version id; a record written before versioning is
// the null version.
func versionOf(rec *objectRecord) string {
	if rec.VersionID == "" {
		return store.NullVersionID
	}
	return rec.VersionID
}

// sortOf is rec's position among its key's versions; a record written
// before versioning gets one from its stamp when a cluster wrote it (the
// id store.VersionIDOf gives the stamp, so it sorts with the cluster's
// versions by stamp), else from its modification time.
func sortOf(rec *objectRecord) string {
	if rec.Sort != "" {
		return rec.Sort
	}
	if !rec.Stamp.IsZero() {
		return store.VersionIDOf(rec.Stamp)
	}
	return fmt.Sprintf("%016x00000000", ^uint64(rec.Modified.UnixNano()))
}

// isVersion reports whether an o/ record is a version (an object or a
// delete marker), not a replica tombstone.
func isVersion(rec *objectRecord) bool { return !rec.Deleted || rec.Marker }

// newSort returns a fresh sort key for a version written at now that
// sorts before (is newer than) latest ("" when the key has no version).
func newSort(now time.Time, latest string) string {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	inv := ^uint64(now.UnixNano())
	if latest != "" {
		if l, err := strconv.ParseUint(latest[:16], 16, 64); err == nil && inv >= l {
			inv = l - 1
		}
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], inv)
	return hex.EncodeToString(b[:]) + hex.EncodeToString(rnd[:])
}

// commitVersion is commitObject's step in a bucket with versioning (state
// set), under the key lock: a version without retention in a bucket with
// a default retention (lock) gets it; rec becomes the latest version with a new id
// (Enabled) or as the null version (Suspended), the previous latest moves
// to w/ unless it is the null version a Suspended write replaces, and a
// noncurrent null version is dropped by a Suspended write. All of it is one
// batch. It returns the data files to unlink after the commit.
func (e *Engine) commitVersion(bucket, key, state string, lock *store.ObjectLockConfig, rec, old *objectRecord, exists bool, extra func(*pebble.Batch) error) ([]string, error) {
	rec.Modified = time.Now().UTC()
	if lock != nil && !rec.Marker && rec.Meta.LockMode == "" && lock.Mode != "" {
		rec.Meta.LockMode, rec.Meta.LockRetainUntil = lock.Mode, lock.DefaultUntil(rec.Modified)
	}
	latest := ""
	if exists && isVersion(old) {
		latest = sortOf(old)
	}
	rec.Sort = newSort(rec.Modified, latest)
	rec.VersionID = rec.Sort
	if state == store.VersioningSuspended {
		rec.VersionID = store.NullVersionID
	}
	b, err := e.objectBatch(bucket, key, rec, extra)
	if err != nil {
		return nil, err
	}
	gone, err := e.retireLatest(b, bucket, key, state, old, latest != "")
	if err != nil {
		b.Close()
		return nil, err
	}
	if err := e.commit(b); err != nil {
		return nil, err
	}
	return gone, nil
}

// retireLatest adds to b what happens to the previous latest version old
// (held when isOld) and to a noncurrent null version when a new version is
// written in state; it returns the data files that the batch drops.
func (e *Engine) retireLatest(b *pebble.Batch, bucket, key, state string, old *objectRecord, isOld bool) ([]string, error) {
	var gone []string
	suspended := state == store.VersioningSuspended
	if isOld && suspended && versionOf(old) == store.NullVersionID {
		if old.Meta.LockedAt(time.Now(), false) {
			return nil, store.ErrObjectLocked
		}
		if f := dropData(b, old); f != "" {
			gone = append(gone, f)
		}
		return gone, nil
	}
	if isOld {
		moved := *old
		moved.Sort, moved.VersionID = sortOf(old), versionOf(old)
		wk := versionKey(bucket, key, moved.Sort)
		if err := setJSON(b, wk, &moved); err != nil {
			return nil, err
		}
		if moved.File != "" {
			b.Set(fileKey(moved.File), wk, nil)
		}
	}
	if suspended {
		wk, nrec, err := e.findNoncurrent(bucket, key, store.NullVersionID)
		if err != nil {
			return nil, err
		}
		if nrec != nil {
			if nrec.Meta.LockedAt(time.Now(), false) {
				return nil, store.ErrObjectLocked
			}
			b.Delete(wk, nil)
			if f := dropData(b, nrec); f != "" {
				gone = append(gone, f)
			}
		}
	}
	return gone, nil
}

// findNoncurrent returns the w/ key and record of bucket/key's noncurrent
// version id, or a nil record. A real id is one point read; "null" scans
// the key's versions.
func (e *Engine) findNoncurrent(bucket, key, id string) ([]byte, *objectRecord, error) {
	if id != store.NullVersionID {
		wk := versionKey(bucket, key, id)
		var rec objectRecord
		ok, err := e.getJSON(wk, &rec)
		if err != nil || !ok {
			return nil, nil, err
		}
		return wk, &rec, nil
	}
	var found []byte
	var frec *objectRecord
	err := e.eachNoncurrent(bucket, key, func(k []byte, rec *objectRecord) bool {
		if versionOf(rec) == store.NullVersionID {
			found, frec = append([]byte(nil), k...), rec
			return false
		}
		return true
	})
	return found, frec, err
}

// eachNoncurrent calls fn with bucket/key's noncurrent versions, newest
// first, until fn returns false. k is valid only during the call.
func (e *Engine) eachNoncurrent(bucket, key string, fn func(k []byte, rec *objectRecord) bool) error {
	base := versionBase(bucket, key)
	it, err := e.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte(base),
		UpperBound: []byte(successor(base)),
	})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		var rec objectRecord
		if err := json.Unmarshal(it.Value(), &rec); err != nil {
			return fmt.Errorf("local: version %q: %w", it.Key(), err)
		}
		if !fn(it.Key(), &rec) {
			break
		}
	}
	return it.Error()
}
