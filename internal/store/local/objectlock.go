package local

import (
	"context"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// Object Lock: the bucket's configuration is part of its b/ record, a
// version's retention and legal hold part of its o/ or w/ record
// (store.ObjectMeta), each written in the same synced batch as what it
// protects. Enforcement is dropVersion's (removal by id, lifecycle),
// retireLatest's (a Suspended write over a null version, which a lock
// bucket never has) and SetObjectRetention's.

var _ store.ObjectLocker = (*Engine)(nil)

// SetObjectLockConfig enables Object Lock on bucket and sets its default
// retention; see store.ObjectLocker.
func (e *Engine) SetObjectLockConfig(ctx context.Context, bucket string, cfg store.ObjectLockConfig, enableVersioning bool) error {
	return e.updateBucket(ctx, bucket, func(rec *bucketRecord) (bool, error) {
		err := store.EnableObjectLock(&rec.Versioning, &rec.ObjectLock, cfg, enableVersioning)
		return err == nil, err
	})
}

// ObjectLockConfig returns bucket's Object Lock configuration; see
// store.ObjectLocker.
func (e *Engine) ObjectLockConfig(ctx context.Context, bucket string) (store.ObjectLockConfig, error) {
	if err := e.enter(); err != nil {
		return store.ObjectLockConfig{}, err
	}
	defer e.leave()
	_, lock, err := e.bucketConf(bucket)
	if err != nil {
		return store.ObjectLockConfig{}, err
	}
	if lock == nil {
		return store.ObjectLockConfig{}, store.ErrNoObjectLockConfig
	}
	return *lock, nil
}

// lockEnabled returns store.ErrObjectLockNotEnabled unless bucket has
// Object Lock.
func (e *Engine) lockEnabled(bucket string) error {
	_, lock, err := e.bucketConf(bucket)
	if err == nil && lock == nil {
		err = store.ErrObjectLockNotEnabled
	}
	return err
}

// SetObjectRetention sets one version's retention in place; see
// store.ObjectLocker.
func (e *Engine) SetObjectRetention(ctx context.Context, bucket, key, versionID string, r store.Retention, bypassGovernance bool) error {
	return e.updateVersion(ctx, bucket, key, versionID, func(rec *objectRecord) error {
		if err := e.lockEnabled(bucket); err != nil {
			return err
		}
		if !rec.Meta.RetentionChange(r, time.Now(), bypassGovernance) {
			return store.ErrObjectLocked
		}
		rec.Meta.LockMode, rec.Meta.LockRetainUntil = r.Mode, r.RetainUntil.UTC()
		return nil
	})
}

// SetObjectLegalHold sets one version's legal hold in place; see
// store.ObjectLocker.
func (e *Engine) SetObjectLegalHold(ctx context.Context, bucket, key, versionID string, on bool) error {
	return e.updateVersion(ctx, bucket, key, versionID, func(rec *objectRecord) error {
		if err := e.lockEnabled(bucket); err != nil {
			return err
		}
		rec.Meta.LegalHold, rec.Meta.LegalHoldSet = on, true
		return nil
	})
}

// DeleteVersionBypass removes one version by id, lifting GOVERNANCE
// retention when bypassGovernance is set; see store.ObjectLocker.
func (e *Engine) DeleteVersionBypass(ctx context.Context, bucket, key, versionID string, bypassGovernance bool) (store.DeleteResult, error) {
	if versionID == "" {
		return e.DeleteObjectVersion(ctx, bucket, key, "")
	}
	if err := e.enter(); err != nil {
		return store.DeleteResult{}, err
	}
	defer e.leave()
	return e.deleteVersion(ctx, bucket, key, versionID, bypassGovernance)
}

// SetVersionLock applies ch to version versionID ("" the latest) of
// bucket/key in place under the key lock, as a cluster replica: the
// bucket's own record is not asked for Object Lock (the cluster's is).
// A stamped change (ch.Stamp) not newer than the copy's LockStamp is
// ignored (a later one reached it first); else the copy takes its stamp.
// Safe for concurrent use.
func (e *Engine) SetVersionLock(ctx context.Context, bucket, key, versionID string, ch store.LockChange) error {
	return e.updateSettings(ctx, bucket, key, versionID, func(rec *objectRecord) error {
		if !ch.Stamp.IsZero() && !ch.Stamp.After(rec.Meta.LockStamp) {
			return errStaleSetting
		}
		if err := ch.Apply(&rec.Meta, time.Now()); err != nil {
			return err
		}
		if !ch.Stamp.IsZero() {
			rec.Meta.LockStamp = ch.Stamp
		}
		return nil
	})
}
