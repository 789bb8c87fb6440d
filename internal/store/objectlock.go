package store

import (
	"context"
	"errors"
	"time"
)

// Object Lock retention modes, as S3 spells them.
const (
	LockGovernance = "GOVERNANCE"
	LockCompliance = "COMPLIANCE"
)

// Errors of Object Lock.
var (
	// ErrObjectLocked: the version is under retention or legal hold and
	// the operation would delete it, overwrite it in place, or weaken its
	// retention (S3's AccessDenied).
	ErrObjectLocked = errors.New("store: the object version is locked")
	// ErrObjectLockNotEnabled: a lock setting on a bucket without Object
	// Lock.
	ErrObjectLockNotEnabled = errors.New("store: the bucket has no object lock configuration")
	// ErrNoObjectLockConfig: GetObjectLockConfiguration of a bucket
	// without Object Lock.
	ErrNoObjectLockConfig = errors.New("store: object lock configuration not found")
	// ErrInvalidBucketState: the bucket's versioning forbids the change
	// (suspending a lock-enabled bucket, enabling lock without versioning).
	ErrInvalidBucketState = errors.New("store: invalid bucket state")
)

// ObjectLockConfig is a bucket's Object Lock configuration. Enabled is
// never false once set. Mode, with exactly one of Days or Years, is the
// default retention given to new versions that name none; Mode "" means
// no default retention.
type ObjectLockConfig struct {
	Enabled bool   `json:"e"`
	Mode    string `json:"m,omitempty"`
	Days    int    `json:"d,omitempty"`
	Years   int    `json:"y,omitempty"`
}

// DefaultUntil is the retain-until date of a version made at t under c's
// default retention (zero without one): t plus Days days or Years years.
func (c ObjectLockConfig) DefaultUntil(t time.Time) time.Time {
	switch {
	case c.Mode == "":
		return time.Time{}
	case c.Years > 0:
		return t.AddDate(c.Years, 0, 0)
	}
	return t.AddDate(0, 0, c.Days)
}

// Retention is one version's retention: Mode "" with a zero RetainUntil
// means none.
type Retention struct {
	Mode        string
	RetainUntil time.Time
}

// HasLock reports whether m names any lock setting (retention or a legal
// hold ON).
func (m ObjectMeta) HasLock() bool {
	return m.LockMode != "" || !m.LockRetainUntil.IsZero() || m.LegalHold || m.LegalHoldSet
}

// Retained reports whether m's retention is in force at now.
func (m ObjectMeta) Retained(now time.Time) bool {
	return m.LockMode != "" && m.LockRetainUntil.After(now)
}

// LockedAt reports whether the version m describes may not be deleted
// or overwritten at now: a legal hold, COMPLIANCE retention in force, or
// GOVERNANCE retention in force without bypassGovernance. This is the one
// rule every removal path of an engine applies.
func (m ObjectMeta) LockedAt(now time.Time, bypassGovernance bool) bool {
	if m.LegalHold {
		return true
	}
	if !m.Retained(now) {
		return false
	}
	return m.LockMode != LockGovernance || !bypassGovernance
}

// RetentionChange reports whether a version with m may get retention r
// at now: always when no retention is in force; otherwise when r is at
// least as strict (same date or later, and COMPLIANCE stays COMPLIANCE),
// or, for GOVERNANCE, with bypassGovernance.
func (m ObjectMeta) RetentionChange(r Retention, now time.Time, bypassGovernance bool) bool {
	if !m.Retained(now) {
		return true
	}
	stricter := r.Mode != "" && !r.RetainUntil.Before(m.LockRetainUntil) &&
		(r.Mode == LockCompliance || m.LockMode == LockGovernance)
	if stricter {
		return true
	}
	return m.LockMode == LockGovernance && bypassGovernance
}

// EnableObjectLock applies cfg to a bucket record's versioning state and
// lock configuration, as ObjectLocker.SetObjectLockConfig says: versioning
// becomes Enabled with it when enableVersioning and it was never set;
// otherwise a bucket without versioning Enabled (or a cfg not Enabled) is
// ErrInvalidBucketState and nothing changes.
func EnableObjectLock(versioning *string, lock **ObjectLockConfig, cfg ObjectLockConfig, enableVersioning bool) error {
	state := *versioning
	if enableVersioning && state == VersioningUnset {
		state = VersioningEnabled
	}
	if !cfg.Enabled || state != VersioningEnabled {
		return ErrInvalidBucketState
	}
	*versioning, *lock = state, &cfg
	return nil
}

// ObjectLocker is implemented by engines with S3 Object Lock (they are
// also Versioned). Every removal of a version (DeleteObjectVersion by id,
// lifecycle expiration, a Suspended write over a null version) refuses a
// locked one with ErrObjectLocked (ObjectMeta.LockedAt), and a write that
// names a lock setting (ObjectMeta.HasLock) in a bucket without Object
// Lock fails with ErrObjectLockNotEnabled. A version written without
// retention in a bucket with a default retention gets it, in the same
// commit. Safe for concurrent use.
type ObjectLocker interface {
	// SetObjectLockConfig enables Object Lock (cfg.Enabled must be true)
	// and sets the default retention. A bucket whose versioning is not
	// Enabled is ErrInvalidBucketState, unless it never had versioning and
	// enableVersioning is set (a bucket created with Object Lock).
	SetObjectLockConfig(ctx context.Context, bucket string, cfg ObjectLockConfig, enableVersioning bool) error
	// ObjectLockConfig returns the bucket's configuration, or
	// ErrNoObjectLockConfig.
	ObjectLockConfig(ctx context.Context, bucket string) (ObjectLockConfig, error)
	// SetObjectRetention sets version versionID's ("" the latest)
	// retention in place (ObjectMeta.RetentionChange decides; otherwise
	// ErrObjectLocked).
	SetObjectRetention(ctx context.Context, bucket, key, versionID string, r Retention, bypassGovernance bool) error
	// SetObjectLegalHold turns the version's legal hold on or off.
	SetObjectLegalHold(ctx context.Context, bucket, key, versionID string, on bool) error
	// DeleteVersionBypass is DeleteObjectVersion that may remove a version
	// under GOVERNANCE retention when bypassGovernance is set.
	DeleteVersionBypass(ctx context.Context, bucket, key, versionID string, bypassGovernance bool) (DeleteResult, error)
}

// LockChange is one in-place change of a version's lock state as a
// cluster replica applies it (the cluster's bucket record, not the
// replica's own, holds the bucket's configuration, so no bucket check is
// made): Retention (nil: unchanged) as SetObjectRetention sets it, under
// ObjectMeta.RetentionChange with Bypass; LegalHold (nil: unchanged) as
// SetObjectLegalHold sets it.
type LockChange struct {
	Retention *Retention `json:"r,omitempty"`
	LegalHold *bool      `json:"h,omitempty"`
	Bypass    bool       `json:"b,omitempty"`
	// Stamp is the change's stamp in a cluster (zero: unstamped); a
	// replica takes it as ObjectMeta.LockStamp and ignores a change not
	// newer than the one it holds.
	Stamp Stamp `json:"s,omitzero"`
}

// Apply makes c's change to m at now, or returns ErrObjectLocked (and
// leaves m) when m's retention may not become c.Retention.
func (c LockChange) Apply(m *ObjectMeta, now time.Time) error {
	if r := c.Retention; r != nil {
		if !m.RetentionChange(*r, now, c.Bypass) {
			return ErrObjectLocked
		}
		m.LockMode, m.LockRetainUntil = r.Mode, r.RetainUntil.UTC()
	}
	if c.LegalHold != nil {
		m.LegalHold, m.LegalHoldSet = *c.LegalHold, true
	}
	return nil
}
