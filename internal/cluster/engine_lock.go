package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// Object Lock in a cluster (store.ObjectLocker): the bucket's
// configuration is a field of its record in etcd (set by compare-and-swap,
// seen by every node through the bucket watch). The coordinator of a
// write decides a default retention once (withDefaultRetention), so every
// replica stores the same lock state with the version. Retention and legal
// hold set later are applied in place on every target of the version, at
// a write quorum (unstamped, like setVersionACL: a target the change
// misses keeps the old state until it is set again).
//
// Enforcement: before a version is removed by id (DeleteObjectVersion,
// DeleteVersionBypass, lifecycle's ExpireNoncurrent) the coordinator asks
// every reachable node that should hold it (lockCheck) and removes nothing
// when any copy is locked or fewer than a write quorum of its targets
// answered; since a lock change reaches a write quorum too, the two
// quorums meet and a copy the change missed cannot let a removal through.
// Each replica checks again as it removes (store/local's dropVersion).
// Not built: a lock set on a version while a removal of it is between its
// check and its removal may be refused by some replicas and not others.

var _ store.ObjectLocker = (*Engine)(nil)

// SetObjectLockConfig implements store.ObjectLocker: a compare-and-swap of
// the bucket's record in etcd (versioning Enabled with it when
// enableVersioning and the bucket never had versioning; otherwise a bucket
// without versioning Enabled is store.ErrInvalidBucketState).
func (e *Engine) SetObjectLockConfig(ctx context.Context, bucket string, cfg store.ObjectLockConfig, enableVersioning bool) error {
	return e.updateBucketRecord(ctx, bucket, func(rec *bucketRecord) (bool, error) {
		err := store.EnableObjectLock(&rec.Versioning, &rec.ObjectLock, cfg, enableVersioning)
		return err == nil, err
	})
}

// ObjectLockConfig implements store.ObjectLocker, from the watched cache
// (else etcd).
func (e *Engine) ObjectLockConfig(ctx context.Context, bucket string) (store.ObjectLockConfig, error) {
	rec, err := e.bucketRecord(ctx, bucket)
	switch {
	case err != nil:
		return store.ObjectLockConfig{}, err
	case rec.ObjectLock == nil:
		return store.ObjectLockConfig{}, store.ErrNoObjectLockConfig
	}
	return *rec.ObjectLock, nil
}

// withDefaultRetention returns m with lock's default retention from now
// when m names no retention of its own (m unchanged without a lock
// configuration or a default).
func withDefaultRetention(m store.ObjectMeta, lock *store.ObjectLockConfig, now time.Time) store.ObjectMeta {
	if lock == nil || lock.Mode == "" || m.LockMode != "" {
		return m
	}
	m.LockMode, m.LockRetainUntil = lock.Mode, lock.DefaultUntil(now.UTC())
	return m
}

// SetObjectRetention implements store.ObjectLocker (see setVersionLock).
func (e *Engine) SetObjectRetention(ctx context.Context, bucket, key, versionID string, r store.Retention, bypassGovernance bool) error {
	return e.setVersionLock(ctx, bucket, key, versionID, store.LockChange{Retention: &r, Bypass: bypassGovernance})
}

// SetObjectLegalHold implements store.ObjectLocker (see setVersionLock).
func (e *Engine) SetObjectLegalHold(ctx context.Context, bucket, key, versionID string, on bool) error {
	return e.setVersionLock(ctx, bucket, key, versionID, store.LockChange{LegalHold: &on})
}

// setVersionLock applies ch to version id of bucket/key ("" the latest,
// resolved here to its id) in place on every reachable node that should
// hold it (lockNodes), at a write quorum of them.
// The coordinator checks ch against the version it reads (a retention
// that may not be weakened is store.ErrObjectLocked, changed nowhere);
// each target checks again against its own copy.
func (e *Engine) setVersionLock(ctx context.Context, bucket, key, id string, ch store.LockChange) error {
	if _, err := e.ObjectLockConfig(ctx, bucket); errors.Is(err, store.ErrNoObjectLockConfig) {
		return store.ErrObjectLockNotEnabled
	} else if err != nil {
		return err
	}
	info, err := e.resolveVersion(ctx, bucket, key, id)
	if err != nil {
		return err
	}
	m := info.Meta
	if err := ch.Apply(&m, time.Now()); err != nil {
		return err
	}
	ch.Stamp = e.stamp() // so repair brings it to a copy it misses
	ns, nt := e.lockNodes(bucket, key)
	errs := make([]error, len(ns))
	_ = each(ctx, ns, func(ctx context.Context, n NodeStatus) error {
		i := indexOf(ns, n.Name)
		errs[i] = e.versionLockAt(ctx, n, bucket, key, info.VersionID, ch)
		if i >= nt && (errors.Is(errs[i], store.ErrNoSuchVersion) || errors.Is(errs[i], store.ErrNoSuchBucket)) {
			errs[i] = nil // not a target, and holds nothing to change
		}
		return nil
	})
	_, err = settle(ns, make([]store.ObjectInfo, len(ns)), errs, nil)
	return err
}

// lockNodes returns the reachable nodes that should hold bucket/key: its
// targets first (nt of them), then the rest of its read set (a holder
// placement does not choose right now, such as a node briefly suspect).
func (e *Engine) lockNodes(bucket, key string) (ns []NodeStatus, nt int) {
	targets := e.targets(bucket, key)
	ns = append(ns, targets...)
	for _, n := range e.readSet(bucket, key) {
		if indexOf(ns, n.Name) < 0 {
			ns = append(ns, n)
		}
	}
	return ns, len(targets)
}

// resolveVersion returns version id of bucket/key ("" the latest) with
// its VersionID set ("null" for a version written without one).
func (e *Engine) resolveVersion(ctx context.Context, bucket, key, id string) (store.ObjectInfo, error) {
	if id != "" {
		info, _, _, err := e.locateVersion(ctx, bucket, key, id)
		return info, err
	}
	info, _, err := e.locate(ctx, bucket, key)
	info.VersionID = cmp.Or(info.VersionID, store.NullVersionID)
	return info, err
}

// versionLockAt applies ch to version id of bucket/key at node n.
func (e *Engine) versionLockAt(ctx context.Context, n NodeStatus, bucket, key, id string, ch store.LockChange) error {
	if e.self(n) {
		return e.local.SetVersionLock(ctx, bucket, key, id, ch)
	}
	return e.c.call(ctx, n.Endpoint, "POST", internalPrefix+"versionlock", versionArgs{Bucket: bucket, Key: key, Version: id, Lock: &ch}, nil)
}

// DeleteVersionBypass implements store.ObjectLocker: DeleteObjectVersion
// with GOVERNANCE retention lifted when bypassGovernance is set.
func (e *Engine) DeleteVersionBypass(ctx context.Context, bucket, key, versionID string, bypassGovernance bool) (store.DeleteResult, error) {
	return e.deleteVersion(ctx, bucket, key, versionID, bypassGovernance)
}

// lockCheck refuses the removal of version id of bucket/key before any
// copy is removed: store.ErrObjectLocked when a copy held by any
// reachable node that should hold it (its targets and read set) is locked
// at now (store.ObjectMeta.LockedAt with bypass), store.ErrUnavailable
// when fewer than a write quorum of its targets answered.
func (e *Engine) lockCheck(ctx context.Context, bucket, key, id string, bypass bool) error {
	ns, nt := e.lockNodes(bucket, key)
	hs := e.versionAll(ctx, ns, bucket, key, id)
	now, answered := time.Now(), 0
	for i, h := range hs {
		if h.ok && !h.info.DeleteMarker && h.info.Meta.LockedAt(now, bypass) {
			return store.ErrObjectLocked
		}
		if h.answered && i < nt {
			answered++
		}
	}
	if answered < quorum(nt) {
		return fmt.Errorf("%w: %d of %d targets of %s/%s answered for version %s", store.ErrUnavailable, answered, nt, bucket, key, id)
	}
	return nil
}
