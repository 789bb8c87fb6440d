package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store"
)

// Versioning in a cluster (store.Versioned): the bucket's state is a field
// of its record in etcd. In an Enabled bucket every write is a version of
// its own, replicated to the key's targets like any object: the
// coordinator makes the version id from its stamp (store.VersionIDOf), so
// every replica stores the same id, and each replica keeps it as a
// versioned record with that id given (the local engine's
// PutOptions.VersionID and PutReplica). The latest is the newest stamp
// across the read set, as locate finds it; a version by id is read from
// any node of the read set holding it. A delete marker is a version
// without a body; removing a version removes it on every target.
//
// A completed multipart upload is a version the same way: its home node
// assembles it as the version the coordinator named and places it.
//
// Suspended makes every write the null version: each replica replaces
// the key's null version with it when its stamp is newer, and sorts it
// among the other versions by its stamp.
//
// Lifecycle's Expiration puts a delete marker in front of the latest
// version (expireVersioned).
//
// PutObjectAcl rewrites the version in place on every target
// (setVersionACL), as a stamped change repair brings to a target it
// missed; so do lock changes (setVersionLock).
//
// Lifecycle's rules on noncurrent versions and delete markers run on
// every target (store.VersionExpirer, engine_expire.go).
//
// Repair settles every version of a key, noncurrent ones included, and
// removing a version by id (here or by lifecycle) leaves a tombstone of
// it on each target that removed it, which repair spreads to the targets
// the removal missed (repair_versions.go).

var _ store.Versioned = (*Engine)(nil)

// versioning returns bucket's versioning state (the watched cache, else
// etcd).
func (e *Engine) versioning(ctx context.Context, bucket string) (string, error) {
	rec, err := e.bucketRecord(ctx, bucket)
	return rec.Versioning, err
}

// SetBucketVersioning implements store.Versioned: a compare-and-swap of
// the bucket's record in etcd. Other nodes see the state within the bucket
// watch's latency; a replica write that reaches a key holding versions
// without a version id meanwhile is kept as a version all the same (see
// the local engine).
func (e *Engine) SetBucketVersioning(ctx context.Context, bucket, state string) error {
	if state != store.VersioningEnabled && state != store.VersioningSuspended {
		return store.ErrInvalidVersioningState
	}
	return e.updateBucketRecord(ctx, bucket, func(rec *bucketRecord) (bool, error) {
		switch {
		case rec.Versioning == state:
			return false, nil
		case rec.ObjectLock != nil:
			return false, store.ErrInvalidBucketState // a lock bucket stays Enabled
		}
		rec.Versioning = state
		return true, nil
	})
}

// updateBucketRecord changes bucket's record in etcd by compare-and-swap
// (retried on a conflict, at most 8 times): edit gets the record read
// and reports whether it changed it or why it refuses. This node's cache
// takes the change at once; other nodes see it through the bucket watch.
func (e *Engine) updateBucketRecord(ctx context.Context, bucket string, edit func(*bucketRecord) (bool, error)) error {
	for range 8 {
		rec, old, err := e.readBucketRecord(ctx, bucket)
		if err != nil {
			return err
		}
		changed, err := edit(&rec)
		if err != nil || !changed {
			return err
		}
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		err = e.c.kv.CompareAndSwap(ctx, bucketKey(bucket), old, v)
		if !errors.Is(err, meta.ErrConflict) {
			if err == nil {
				e.buckets.set(bucket, v) // this node's next write sees it at once
			}
			return err
		}
	}
	return fmt.Errorf("cluster: update bucket %s: %w", bucket, meta.ErrConflict)
}

// BucketVersioning implements store.Versioned.
func (e *Engine) BucketVersioning(ctx context.Context, bucket string) (string, error) {
	return e.versioning(ctx, bucket)
}

// HeadObjectVersion implements store.Versioned.
func (e *Engine) HeadObjectVersion(ctx context.Context, bucket, key, id string) (store.ObjectInfo, error) {
	info, _, _, err := e.locateVersion(ctx, bucket, key, id)
	return info, err
}

// GetObjectVersion implements store.Versioned: the version read from a
// node holding it (this node first), failing over to the others as
// GetObject does.
func (e *Engine) GetObjectVersion(ctx context.Context, bucket, key, id string, rng *store.Range) (store.ObjectInfo, io.ReadCloser, error) {
	info, holders, byID, err := e.locateVersion(ctx, bucket, key, id)
	if err != nil {
		return info, nil, err
	}
	return e.openHolders(ctx, info, holders, rng, byID)
}

// locateVersion finds version id of bucket/key and the nodes holding it
// (this node first). byID is false when the version is the key's latest
// found by locate (the null version of a key written without versioning,
// read by its stamp like the latest); then holders are locate's.
func (e *Engine) locateVersion(ctx context.Context, bucket, key, id string) (info store.ObjectInfo, holders []NodeStatus, byID bool, err error) {
	if !store.ValidVersionID(id) {
		return info, nil, false, store.ErrInvalidVersionID
	}
	state, err := e.versioning(ctx, bucket)
	if err != nil {
		return info, nil, false, err
	}
	if id == store.NullVersionID {
		info, holders, err = e.locate(ctx, bucket, key)
		switch {
		case err == nil && (info.VersionID == "" || info.VersionID == store.NullVersionID):
			info.VersionID = store.NullVersionID
			return info, holders, false, nil
		case errors.Is(err, store.ErrUnavailable):
			return info, nil, false, err
		}
	}
	if state == store.VersioningUnset {
		return store.ObjectInfo{}, nil, false, store.ErrNoSuchVersion
	}
	info, holders, err = e.findVersion(ctx, bucket, key, id)
	return info, holders, true, err
}

// findVersion asks the key's read set (and, when none of it holds the
// version, every other reachable node) for version id.
func (e *Engine) findVersion(ctx context.Context, bucket, key, id string) (store.ObjectInfo, []NodeStatus, error) {
	set := e.readSet(bucket, key)
	hs := e.versionAll(ctx, set, bucket, key, id)
	best, holders := newest(hs)
	if len(holders) == 0 {
		hs = append(hs, e.versionAll(ctx, e.others(set), bucket, key, id)...)
		best, holders = newest(hs)
	}
	switch {
	case len(holders) == 0 && !anyAnswered(hs):
		return store.ObjectInfo{}, nil, fmt.Errorf("%w: no node answered for %s/%s version %s", store.ErrUnavailable, bucket, key, id)
	case len(holders) == 0:
		return store.ObjectInfo{}, nil, store.ErrNoSuchVersion
	case best.DeleteMarker:
		return store.ObjectInfo{}, nil, &store.DeleteMarkerError{VersionID: id, Err: store.ErrVersionIsDeleteMarker}
	}
	return best, holders, nil // the primary first, as locate
}

// versionAll asks each node of ns in parallel for version id of
// bucket/key; a node that cannot answer within LookupTimeout holds
// nothing.
func (e *Engine) versionAll(ctx context.Context, ns []NodeStatus, bucket, key, id string) []holding {
	out := make([]holding, len(ns))
	var wg sync.WaitGroup
	for i, n := range ns {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, LookupTimeout)
			defer cancel()
			h, err := e.versionAt(ctx, n, bucket, key, id)
			if err == nil {
				out[i] = holding{node: n, info: h.Info, ok: h.Found, answered: true}
			}
		})
	}
	wg.Wait()
	return out
}

// versionAt asks node n for version id of bucket/key.
func (e *Engine) versionAt(ctx context.Context, n NodeStatus, bucket, key, id string) (held, error) {
	if e.self(n) {
		return versionLocal(ctx, e.local, bucket, key, id)
	}
	var h held
	err := e.c.call(ctx, n.Endpoint, "POST", internalPrefix+"version", versionArgs{Bucket: bucket, Key: key, Version: id}, &h)
	return h, err
}

// versionLocal is what this node holds of version id: a delete marker is
// found with Info.DeleteMarker set; a missing bucket or version is not
// found.
func versionLocal(ctx context.Context, l Local, bucket, key, id string) (held, error) {
	info, err := l.HeadObjectVersion(ctx, bucket, key, id)
	var dm *store.DeleteMarkerError
	switch {
	case err == nil:
		return held{Found: true, Info: info}, nil
	case errors.As(err, &dm):
		return held{Found: true, Info: store.ObjectInfo{Bucket: bucket, Key: key, VersionID: id, DeleteMarker: true}}, nil
	case errors.Is(err, store.ErrNoSuchVersion), errors.Is(err, store.ErrNoSuchBucket):
		return held{}, nil
	}
	return held{}, err
}

// openVersionLocal opens a range of the local copy of version
// info.VersionID; a copy with another stamp is store.ErrNoSuchKey.
func openVersionLocal(ctx context.Context, l Local, info store.ObjectInfo, off, n int64) (io.ReadCloser, error) {
	return openStamped(info, off, n, func(rng *store.Range) (store.ObjectInfo, io.ReadCloser, error) {
		return l.GetObjectVersion(ctx, info.Bucket, info.Key, info.VersionID, rng)
	})
}

// DeleteObjectVersion implements store.Versioned. Without a version id
// it is DeleteObject (a delete marker once versioning is set); with one
// it removes that version on every target, at a write quorum, unless it
// is locked (store.ErrObjectLocked; see lockCheck); each target keeps a
// tombstone of it, which repair brings to the targets missed. In a bucket that
// never had versioning the only version is "null".
func (e *Engine) DeleteObjectVersion(ctx context.Context, bucket, key, id string) (store.DeleteResult, error) {
	return e.deleteVersion(ctx, bucket, key, id, false)
}

// deleteVersion is DeleteObjectVersion with GOVERNANCE retention lifted
// when bypass is set.
func (e *Engine) deleteVersion(ctx context.Context, bucket, key, id string, bypass bool) (store.DeleteResult, error) {
	state, err := e.versioning(ctx, bucket)
	switch {
	case err != nil:
		return store.DeleteResult{}, err
	case id == "" && state != store.VersioningUnset:
		return e.deleteMarker(ctx, bucket, key, state)
	case id == "":
		return store.DeleteResult{}, e.deleteTombstone(ctx, bucket, key)
	case !store.ValidVersionID(id):
		return store.DeleteResult{}, store.ErrInvalidVersionID
	case state == store.VersioningUnset && id == store.NullVersionID:
		return store.DeleteResult{VersionID: id}, e.deleteTombstone(ctx, bucket, key)
	case state == store.VersioningUnset:
		return store.DeleteResult{VersionID: id}, nil // names nothing
	}
	return e.removeVersion(ctx, bucket, key, id, bypass)
}

// versionIDFor is the version id of a write stamped s in a bucket in
// state: none without versioning, the null version when Suspended, else
// the id of the stamp.
func versionIDFor(state string, s store.Stamp) string {
	switch state {
	case store.VersioningUnset:
		return ""
	case store.VersioningSuspended:
		return store.NullVersionID
	}
	return store.VersionIDOf(s)
}

// deleteMarker writes a delete marker, a version of its own with an id
// from a new stamp (the null version when Suspended), to bucket/key's
// targets.
func (e *Engine) deleteMarker(ctx context.Context, bucket, key, state string) (store.DeleteResult, error) {
	stamp := e.stamp()
	info := store.ObjectInfo{Bucket: bucket, Key: key, LastModified: time.Now().UTC(), Stamp: stamp,
		VersionID: versionIDFor(state, stamp), DeleteMarker: true}
	targets := e.targets(bucket, key)
	errs := make([]error, len(targets))
	_ = each(ctx, targets, func(ctx context.Context, n NodeStatus) error {
		errs[indexOf(targets, n.Name)] = e.putMarkerAt(ctx, n, info)
		return nil
	})
	_, err := settle(targets, make([]store.ObjectInfo, len(targets)), errs, nil)
	e.missed(errs, nil)
	if err != nil {
		return store.DeleteResult{}, err
	}
	return store.DeleteResult{VersionID: info.VersionID, DeleteMarker: true}, nil
}

// putMarkerAt stores the delete marker info at node n.
func (e *Engine) putMarkerAt(ctx context.Context, n NodeStatus, info store.ObjectInfo) error {
	if e.self(n) {
		return e.local.PutReplica(ctx, info, http.NoBody)
	}
	return e.sendReplica(ctx, n, info, http.NoBody)
}

// removeVersion removes version id of bucket/key on every target, once
// lockCheck (with bypass) finds no copy locked.
func (e *Engine) removeVersion(ctx context.Context, bucket, key, id string, bypass bool) (store.DeleteResult, error) {
	if err := e.lockCheck(ctx, bucket, key, id, bypass); err != nil {
		return store.DeleteResult{}, err
	}
	targets := e.targets(bucket, key)
	errs := make([]error, len(targets))
	marker := make([]bool, len(targets))
	_ = each(ctx, targets, func(ctx context.Context, n NodeStatus) error {
		i := indexOf(targets, n.Name)
		var res store.DeleteResult
		res, errs[i] = e.removeVersionAt(ctx, n, versionArgs{Bucket: bucket, Key: key, Version: id, Bypass: bypass})
		marker[i] = res.DeleteMarker
		return nil
	})
	_, err := settle(targets, make([]store.ObjectInfo, len(targets)), errs, nil)
	e.missed(errs, nil)
	if err != nil {
		return store.DeleteResult{}, err
	}
	res := store.DeleteResult{VersionID: id}
	for i := range targets {
		res.DeleteMarker = res.DeleteMarker || (errs[i] == nil && marker[i])
	}
	return res, nil
}

// removeVersionAt removes version a.Version of a's key at node n
// (GOVERNANCE retention lifted with a.Bypass; a locked version stays,
// store.ErrObjectLocked); a node that holds nothing of the bucket has
// nothing to remove.
func (e *Engine) removeVersionAt(ctx context.Context, n NodeStatus, a versionArgs) (store.DeleteResult, error) {
	if !e.self(n) {
		var res store.DeleteResult
		err := e.c.call(ctx, n.Endpoint, "POST", internalPrefix+"deleteversion", a, &res)
		return res, err
	}
	res, err := e.local.DeleteVersionBypass(ctx, a.Bucket, a.Key, a.Version, a.Bypass)
	if errors.Is(err, store.ErrNoSuchBucket) {
		return store.DeleteResult{VersionID: a.Version}, nil
	}
	return res, err
}

// SetObjectACL implements store.Versioned. In a bucket without
// versioning the object is written again with the same bytes and
// metadata but the ACL (so the ACL is durable and replicated exactly as
// the object is; its LastModified changes); with versioning the version
// (id, or the latest) is rewritten in place on every target (see
// setVersionACL).
func (e *Engine) SetObjectACL(ctx context.Context, bucket, key, id, acl string) error {
	state, err := e.versioning(ctx, bucket)
	switch {
	case err != nil:
		return err
	case state != store.VersioningUnset:
		return e.setVersionACL(ctx, bucket, key, id, acl)
	case id != "" && !store.ValidVersionID(id):
		return store.ErrInvalidVersionID
	case id != "" && id != store.NullVersionID:
		return store.ErrNoSuchVersion
	}
	info, rc, err := e.GetObject(ctx, bucket, key, nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	if info.Meta.ACL == acl {
		return nil
	}
	m := info.Meta
	m.ACL = acl
	_, err = e.PutObject(ctx, bucket, key, rc, info.Size, store.PutOptions{Meta: m, ChecksumAlgorithm: info.Checksum.Algorithm})
	return err
}

// setVersionACL sets the canned ACL of version id of bucket/key (""
// for the latest, resolved here to its id) in place on every target, at a
// write quorum: no new version, the same LastModified, as on a single
// node. The change carries a stamp of its own (ObjectMeta.ACLStamp), so
// repair brings it to a target it missed.
func (e *Engine) setVersionACL(ctx context.Context, bucket, key, id, acl string) error {
	if id == "" {
		cur, _, err := e.locate(ctx, bucket, key)
		if err != nil {
			return err
		}
		id = cmp.Or(cur.VersionID, store.NullVersionID)
	} else if _, _, _, err := e.locateVersion(ctx, bucket, key, id); err != nil {
		return err
	}
	targets := e.targets(bucket, key)
	errs := make([]error, len(targets))
	stamp := e.stamp()
	_ = each(ctx, targets, func(ctx context.Context, n NodeStatus) error {
		errs[indexOf(targets, n.Name)] = e.versionACLAt(ctx, n, versionArgs{Bucket: bucket, Key: key, Version: id, ACL: acl, Stamp: stamp})
		return nil
	})
	_, err := settle(targets, make([]store.ObjectInfo, len(targets)), errs, nil)
	return err
}

// versionACLAt sets the ACL of version a.Version of a's key at node n,
// as the change stamped a.Stamp.
func (e *Engine) versionACLAt(ctx context.Context, n NodeStatus, a versionArgs) error {
	if e.self(n) {
		return e.local.SetVersionACLAt(ctx, a.Bucket, a.Key, a.Version, a.ACL, a.Stamp)
	}
	return e.c.call(ctx, n.Endpoint, "POST", internalPrefix+"versionacl", a, nil)
}
