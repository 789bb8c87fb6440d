package cluster

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// justAfter is the smallest stamp strictly after s. Stamps order by HLC,
// then by node name, so it is s's HLC with the name followed by a NUL:
// no string sorts between a name and that. No node can write it (names
// are [a-z0-9-]), so every other stamp after s is also after it.
func justAfter(s store.Stamp) store.Stamp {
	return store.Stamp{HLC: s.HLC, Node: s.Node + "\x00"}
}

// ExpireObject implements store.Expirer (for a bucket with versioning
// see expireVersioned): it locates the newest copy as GetObject
// does and, when it is still seen (same stamp, ETag and size; without a
// stamp in seen, same ETag, size and LastModified: see sameVersion), writes a tombstone stamped
// justAfter that copy's stamp at a write quorum of the key's targets.
// Any write made after seen carries a later stamp, so it wins over the
// tombstone on every replica by the last-writer rule whatever the order
// they arrive in: a PUT racing the rule is never lost, and no lock is
// taken. Two passes expiring the same version write the same tombstone,
// so the second changes nothing. Targets the tombstone missed are left
// to repair, as DeleteObject does. It reports false when the key is gone,
// holds another version, or every target already held something at
// least as new. A tombstone installed on some targets but short of a
// quorum reports true with the error: the key already reads as gone
// wherever that copy is asked, and repair spreads it. Safe for
// concurrent use.
func (e *Engine) ExpireObject(ctx context.Context, bucket, key string, seen store.ObjectInfo) (bool, error) {
	state, err := e.versioning(ctx, bucket)
	if err != nil {
		return false, err
	}
	cur, _, err := e.locate(ctx, bucket, key)
	if errors.Is(err, store.ErrNoSuchKey) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !sameVersion(cur, seen) {
		return false, nil
	}
	if state != store.VersioningUnset {
		return e.expireVersioned(ctx, cur, state)
	}
	stamp := justAfter(cur.Stamp)
	targets := e.targets(bucket, key)
	errs := make([]error, len(targets))
	_ = each(ctx, targets, func(ctx context.Context, n NodeStatus) error {
		errs[indexOf(targets, n.Name)] = e.deleteAt(ctx, n, bucket, key, stamp)
		return nil
	})
	e.missed(errs, nil)
	installed := slices.Contains(errs, nil) // somewhere: this call removed it
	_, err = settle(targets, make([]store.ObjectInfo, len(targets)), errs, nil)
	return installed, err
}

// sameVersion reports whether cur is the version seen describes. A
// stamp names one write; each replica of it keeps its own LastModified
// (the time it committed there), so with a stamp seen is matched by
// stamp, ETag and size, and only without one by LastModified.
func sameVersion(cur, seen store.ObjectInfo) bool {
	if cur.ETag != seen.ETag || cur.Size != seen.Size {
		return false
	}
	if !seen.Stamp.IsZero() {
		return cur.Stamp == seen.Stamp
	}
	return cur.LastModified.Equal(seen.LastModified)
}

var _ store.Expirer = (*Engine)(nil)

// expireVersioned expires cur, the latest version of a key in a bucket
// with versioning (state), as S3 does: a delete marker goes in front of
// it, and cur stays as a noncurrent version. The marker is stamped
// cur's HLC plus one with no node name, so it sorts (by stamp and by id,
// store.VersionIDOf) right after cur and before any write made after the
// evaluation (a write on another node at cur's very HLC aside, which
// then stays as a noncurrent version: nothing is lost with versioning);
// two passes expiring cur write the same marker, the second changing
// nothing.
func (e *Engine) expireVersioned(ctx context.Context, cur store.ObjectInfo, state string) (bool, error) {
	stamp := store.Stamp{HLC: cur.Stamp.HLC + 1}
	info := store.ObjectInfo{Bucket: cur.Bucket, Key: cur.Key, LastModified: time.Now().UTC(), Stamp: stamp,
		VersionID: versionIDFor(state, stamp), DeleteMarker: true}
	targets := e.targets(cur.Bucket, cur.Key)
	errs := make([]error, len(targets))
	_ = each(ctx, targets, func(ctx context.Context, n NodeStatus) error {
		errs[indexOf(targets, n.Name)] = e.putMarkerAt(ctx, n, info)
		return nil
	})
	e.missed(errs, nil)
	installed := slices.Contains(errs, nil)
	_, err := settle(targets, make([]store.ObjectInfo, len(targets)), errs, nil)
	return installed, err
}

var _ store.VersionExpirer = (*Engine)(nil)

// ExpireNoncurrent implements store.VersionExpirer: every target removes
// version id if, under its key lock, a newer version is its latest; it
// reports whether any did. A version locked on any copy is
// store.ErrObjectLocked and removed nowhere (lockCheck). Each target
// that removed it keeps a tombstone of it, which repair brings to the
// targets it missed (repair_versions.go).
func (e *Engine) ExpireNoncurrent(ctx context.Context, bucket, key, id string) (bool, error) {
	if err := e.lockCheck(ctx, bucket, key, id, false); err != nil {
		return false, err
	}
	return e.expireVersion(ctx, versionArgs{Bucket: bucket, Key: key, Version: id})
}

// ExpireDeleteMarker implements store.VersionExpirer: every target
// removes the delete marker id if, under its key lock, it is its latest
// with no older version behind it; it reports whether any did.
func (e *Engine) ExpireDeleteMarker(ctx context.Context, bucket, key, id string) (bool, error) {
	return e.expireVersion(ctx, versionArgs{Bucket: bucket, Key: key, Version: id, Marker: true})
}

// expireVersion asks every target of a's key to expire a's version, at a
// write quorum.
func (e *Engine) expireVersion(ctx context.Context, a versionArgs) (bool, error) {
	targets := e.targets(a.Bucket, a.Key)
	errs := make([]error, len(targets))
	removed := make([]bool, len(targets))
	_ = each(ctx, targets, func(ctx context.Context, n NodeStatus) error {
		i := indexOf(targets, n.Name)
		if e.self(n) {
			removed[i], errs[i] = expireVersionLocal(ctx, e.local, a)
		} else {
			errs[i] = e.c.call(ctx, n.Endpoint, "POST", internalPrefix+"expireversion", a, &removed[i])
		}
		return nil
	})
	_, err := settle(targets, make([]store.ObjectInfo, len(targets)), errs, nil)
	return slices.Contains(removed, true), err
}

// expireVersionLocal expires a's version in this node's engine; a node
// holding nothing of the bucket has nothing to expire.
func expireVersionLocal(ctx context.Context, l Local, a versionArgs) (bool, error) {
	var removed bool
	var err error
	if a.Marker {
		removed, err = l.ExpireDeleteMarker(ctx, a.Bucket, a.Key, a.Version)
	} else {
		removed, err = l.ExpireNoncurrent(ctx, a.Bucket, a.Key, a.Version)
	}
	if errors.Is(err, store.ErrNoSuchBucket) {
		return false, nil
	}
	return removed, err
}
