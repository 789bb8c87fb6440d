package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/insitu-cloud/insitu/internal/store"
)

// Version tombstones. A cluster removes a version by id on every target
// of its key; a target the removal missed still holds it, and a repair
// copy of it may still be in flight. So that repair can tell a removed
// version from a missed one, an engine opened with
// Options.VersionTombstones keeps, in the removal's own batch, a record
//
//	x/<bucket>\x00<key>\x00<version id>  ->  versionTomb
//
// carrying the removed version's stamp. A version id comes from its
// stamp, so one id names one version, and its tombstone removes (and
// refuses) every copy of it; a removal of an id this node does not hold
// (its copy may still be in flight) keeps one too, with the zero stamp.
// "null" is the exception, which a Suspended bucket reuses: its tombstone
// is kept only when the version was held, and covers a copy only when
// that copy's stamp is not newer (store.TombCovers).
// Repair spreads tombstones (RemoveVersionReplica) and drops them
// (DropVersionTomb) after a grace once every target holds them. A locked
// version is never removed by a tombstone (store.ErrObjectLocked).

// versionTomb is the index value of a version tombstone.
type versionTomb struct {
	Stamp    store.Stamp `json:"v,omitzero"`
	Modified time.Time   `json:"t"` // when it was installed here
}

// tombBucketBase is the prefix of every version tombstone of bucket.
func tombBucketBase(bucket string) string { return pfxTomb + bucket + "\x00" }

func tombKey(bucket, key, id string) []byte {
	return []byte(tombBucketBase(bucket) + key + "\x00" + id)
}

// info is the tombstone as repair sees it: Deleted and VersionID set.
func (t *versionTomb) info(bucket, key, id string) store.ObjectInfo {
	return store.ObjectInfo{Bucket: bucket, Key: key, VersionID: id, Stamp: t.Stamp, LastModified: t.Modified, Deleted: true}
}

// getTomb returns the tombstone of version id of bucket/key, or nil.
func (e *Engine) getTomb(bucket, key, id string) (*versionTomb, error) {
	var t versionTomb
	ok, err := e.getJSON(tombKey(bucket, key, id), &t)
	if err != nil || !ok {
		return nil, err
	}
	return &t, nil
}

// removedBy reports whether t (of version id; nil: none) removes a copy
// of id stamped s; see store.TombCovers.
func (t *versionTomb) removedBy(id string, s store.Stamp) bool {
	return t != nil && store.TombCovers(store.ObjectInfo{VersionID: id, Stamp: t.Stamp}, s)
}

// addTomb adds to b the tombstone of version id of bucket/key, removed
// when it carried stamp, unless one held covers it already. The caller
// holds the key lock.
func (e *Engine) addTomb(b *pebble.Batch, bucket, key, id string, stamp store.Stamp) error {
	held, err := e.getTomb(bucket, key, id)
	if err != nil || held.removedBy(id, stamp) {
		return err
	}
	return setJSON(b, tombKey(bucket, key, id), versionTomb{Stamp: stamp, Modified: time.Now().UTC()})
}

// LookupVersion returns what this node holds of version id of
// bucket/key: the version (delete markers included) and its tombstone;
// see store.VersionHeld. A missing bucket holds nothing.
func (e *Engine) LookupVersion(ctx context.Context, bucket, key, id string) (store.VersionHeld, error) {
	if err := e.enter(); err != nil {
		return store.VersionHeld{}, err
	}
	defer e.leave()
	var out store.VersionHeld
	t, err := e.getTomb(bucket, key, id)
	if err != nil {
		return out, err
	}
	if t != nil {
		ti := t.info(bucket, key, id)
		out.Tomb = &ti
	}
	var latest objectRecord
	ok, err := e.getJSON(objectKey(bucket, key), &latest)
	if err != nil || !ok {
		return out, err
	}
	rec := &latest
	if !isVersion(&latest) || versionOf(&latest) != id {
		if _, rec, err = e.findNoncurrent(bucket, key, id); err != nil || rec == nil {
			return out, err
		}
	}
	vi := rec.info(bucket, key)
	vi.VersionID = id
	out.Version = &vi
	return out, nil
}

// errNewerCopy says the copy held of a tombstone's version id is newer
// than the tombstone (a later null version) and stays.
var errNewerCopy = errors.New("local: the version held is newer than the tombstone")

// RemoveVersionReplica installs tomb (Deleted, VersionID and the removed
// version's Stamp set), as a cluster's repair spreads it: the version is
// removed here when held and covered (store.TombCovers; the newest
// noncurrent version promoted when it was the latest), and the tombstone
// is kept (a newer one held stays). A locked version (legal hold, or
// retention in force; no bypass) is store.ErrObjectLocked and nothing
// changes. The bucket is created when missing. One synced batch, under
// the key lock; the data file is unlinked after it.
func (e *Engine) RemoveVersionReplica(ctx context.Context, tomb store.ObjectInfo) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	if !tomb.Deleted || !validVersionID(tomb.VersionID) {
		return fmt.Errorf("local: RemoveVersionReplica of a non-tombstone %s/%s %q", tomb.Bucket, tomb.Key, tomb.VersionID)
	}
	if err := e.ensureBucket(ctx, tomb.Bucket); err != nil {
		return err
	}
	bmu := e.bucketLock(tomb.Bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	kmu := e.keyLock(tomb.Bucket, tomb.Key)
	kmu.Lock()
	file, err := e.removeByTomb(tomb)
	kmu.Unlock()
	if err != nil {
		return err
	}
	e.removeData(file)
	return nil
}

// removeByTomb is RemoveVersionReplica's commit under the key lock; it
// returns the data file to unlink.
func (e *Engine) removeByTomb(tomb store.ObjectInfo) (string, error) {
	b := e.db.NewBatch()
	gone, err := e.takeVersion(b, tomb.Bucket, tomb.Key, tomb.VersionID, func(rec *objectRecord) error {
		switch {
		case !store.TombCovers(tomb, rec.Stamp):
			return errNewerCopy
		case rec.Meta.LockedAt(time.Now(), false):
			return store.ErrObjectLocked
		}
		return nil
	})
	if errors.Is(err, errNewerCopy) {
		gone, err = nil, nil
	}
	if err == nil {
		err = e.addTomb(b, tomb.Bucket, tomb.Key, tomb.VersionID, tomb.Stamp)
	}
	if err != nil {
		b.Close()
		return "", err
	}
	file := ""
	if gone != nil {
		file = dropData(b, gone)
	}
	if b.Empty() {
		b.Close()
		return "", nil
	}
	return file, e.commit(b)
}

// DropVersionTomb forgets the tombstone of version id of bucket/key when
// it carries exactly stamp (repair, once every target holds it and its
// grace is over, or at once on a node that is not a target); otherwise
// it does nothing.
func (e *Engine) DropVersionTomb(ctx context.Context, bucket, key, id string, stamp store.Stamp) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	kmu := e.keyLock(bucket, key)
	kmu.Lock()
	defer kmu.Unlock()
	t, err := e.getTomb(bucket, key, id)
	if err != nil || t == nil || t.Stamp != stamp {
		return err
	}
	b := e.db.NewBatch()
	if err := b.Delete(tombKey(bucket, key, id), nil); err != nil {
		b.Close()
		return err
	}
	return e.commit(b)
}

// WalkVersions calls fn with every noncurrent version held (VersionID
// set, "null" included), then with every version tombstone (Deleted and
// VersionID set), each in index order. It reads walkBatch entries per
// index scan and runs fn with no iterator open and outside the engine's
// lifetime lock, so fn may call the engine; an error from fn stops the
// walk. A key's latest version is not included (Walk has it).
func (e *Engine) WalkVersions(ctx context.Context, fn func(store.ObjectInfo) error) error {
	if err := e.walkPrefix(ctx, pfxVersion, []byte(pfxVersion), noncurrentInfo, fn); err != nil {
		return err
	}
	return e.walkPrefix(ctx, pfxTomb, []byte(pfxTomb), tombInfo, fn)
}

// noncurrentInfo decodes a w/ entry (rest is the key after its prefix).
func noncurrentInfo(rest string, val []byte) (store.ObjectInfo, error) {
	bucket, key, _, err := splitVersionKey(rest)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	var rec objectRecord
	if err := json.Unmarshal(val, &rec); err != nil {
		return store.ObjectInfo{}, err
	}
	info := rec.info(bucket, key)
	info.VersionID = versionOf(&rec)
	return info, nil
}

// tombInfo decodes an x/ entry (rest is the key after its prefix).
func tombInfo(rest string, val []byte) (store.ObjectInfo, error) {
	bucket, key, id, err := splitVersionKey(rest)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	var t versionTomb
	if err := json.Unmarshal(val, &t); err != nil {
		return store.ObjectInfo{}, err
	}
	return t.info(bucket, key, id), nil
}

// splitVersionKey splits bucket\x00key\x00last (the part of a w/ or x/
// key after its prefix).
func splitVersionKey(rest string) (bucket, key, last string, err error) {
	bucket, rest, ok := strings.Cut(rest, "\x00")
	i := strings.LastIndexByte(rest, 0)
	if !ok || i < 0 {
		return "", "", "", fmt.Errorf("local: malformed version key %q", rest)
	}
	return bucket, rest[:i], rest[i+1:], nil
}

// walkPrefix calls fn with every entry under pfx from index key from on,
// decoded by dec, a page of walkBatch entries at a time (Walk,
// WalkVersions); no lock is held while fn runs.
func (e *Engine) walkPrefix(ctx context.Context, pfx string, from []byte, dec func(string, []byte) (store.ObjectInfo, error), fn func(store.ObjectInfo) error) error {
	for from != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, next, err := e.prefixPage(pfx, from, dec)
		if err != nil {
			return err
		}
		for _, oi := range page {
			if err := fn(oi); err != nil {
				return err
			}
		}
		from = next
	}
	return nil
}

// prefixPage reads up to walkBatch entries under pfx from index key from
// on; next is where the following page starts, nil at the end.
func (e *Engine) prefixPage(pfx string, from []byte, dec func(string, []byte) (store.ObjectInfo, error)) (page []store.ObjectInfo, next []byte, err error) {
	if err := e.enter(); err != nil {
		return nil, nil, err
	}
	defer e.leave()
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: from, UpperBound: []byte(successor(pfx))})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if len(page) == walkBatch {
			return page, append([]byte(nil), it.Key()...), nil
		}
		oi, err := dec(string(it.Key()[len(pfx):]), it.Value())
		if err != nil {
			return nil, nil, fmt.Errorf("local: %q: %w", it.Key(), err)
		}
		page = append(page, oi)
	}
	return page, nil, it.Error()
}

// errOtherCopy says the copy held of a version is not the one a
// DropVersionCopy names.
var errOtherCopy = errors.New("local: another copy of the version is held")

// DropVersionCopy forgets this node's copy of version id of bucket/key
// when it carries exactly stamp, keeping no tombstone: the version moved
// to other nodes (a cluster's repair, or a completed upload placed away
// from its home), it was not removed. The newest noncurrent version is
// promoted when it was the latest. A locked copy stays
// (store.ErrObjectLocked); a missing or different copy is not an error.
func (e *Engine) DropVersionCopy(ctx context.Context, bucket, key, id string, stamp store.Stamp) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	bmu := e.bucketLock(bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	kmu := e.keyLock(bucket, key)
	kmu.Lock()
	file, err := e.dropCopy(bucket, key, id, stamp)
	kmu.Unlock()
	if err != nil {
		return err
	}
	e.removeData(file)
	return nil
}

// dropCopy is DropVersionCopy's commit under the key lock; it returns the
// data file to unlink.
func (e *Engine) dropCopy(bucket, key, id string, stamp store.Stamp) (string, error) {
	b := e.db.NewBatch()
	gone, err := e.takeVersion(b, bucket, key, id, func(rec *objectRecord) error {
		switch {
		case rec.Stamp != stamp:
			return errOtherCopy
		case rec.Meta.LockedAt(time.Now(), false):
			return store.ErrObjectLocked
		}
		return nil
	})
	if errors.Is(err, errOtherCopy) {
		err = nil
	}
	if err != nil || gone == nil {
		b.Close()
		return "", err
	}
	file := dropData(b, gone)
	return file, e.commit(b)
}
