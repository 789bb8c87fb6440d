package local

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// lockBucket makes a bucket with Object Lock (versioning Enabled).
func lockBucket(t *testing.T, ctx context.Context, e *Engine, bucket string, cfg store.ObjectLockConfig) {
	t.Helper()
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: bucket, Owner: "o"}); err != nil {
		t.Fatal(err)
	}
	cfg.Enabled = true
	if err := e.SetObjectLockConfig(ctx, bucket, cfg, true); err != nil {
		t.Fatal(err)
	}
}

func putLocked(t *testing.T, ctx context.Context, e *Engine, bucket, key string, meta store.ObjectMeta) store.ObjectInfo {
	t.Helper()
	oi, err := e.PutObject(ctx, bucket, key, strings.NewReader("data"), 4, store.PutOptions{Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	return oi
}

// TestObjectLockEnforced: every way of removing a version by id refuses a
// locked one, root or not; GOVERNANCE yields to the bypass only.
func TestObjectLockEnforced(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	lockBucket(t, ctx, e, "b", store.ObjectLockConfig{})
	future := time.Now().Add(time.Hour)
	comp := putLocked(t, ctx, e, "b", "c", store.ObjectMeta{LockMode: store.LockCompliance, LockRetainUntil: future})
	gov := putLocked(t, ctx, e, "b", "g", store.ObjectMeta{LockMode: store.LockGovernance, LockRetainUntil: future})
	hold := putLocked(t, ctx, e, "b", "h", store.ObjectMeta{LegalHold: true})
	for _, v := range []store.ObjectInfo{comp, gov, hold} {
		if _, err := e.DeleteObjectVersion(ctx, "b", v.Key, v.VersionID); !errors.Is(err, store.ErrObjectLocked) {
			t.Errorf("delete %s: %v, want ErrObjectLocked", v.Key, err)
		}
	}
	if _, err := e.DeleteVersionBypass(ctx, "b", "c", comp.VersionID, true); !errors.Is(err, store.ErrObjectLocked) {
		t.Errorf("bypass delete of COMPLIANCE: %v", err)
	}
	if _, err := e.DeleteVersionBypass(ctx, "b", "h", hold.VersionID, true); !errors.Is(err, store.ErrObjectLocked) {
		t.Errorf("bypass delete of legal hold: %v", err)
	}
	// A lifecycle pass cannot remove a locked noncurrent version either.
	putLocked(t, ctx, e, "b", "c", store.ObjectMeta{})
	if _, err := e.ExpireNoncurrent(ctx, "b", "c", comp.VersionID); !errors.Is(err, store.ErrObjectLocked) {
		t.Errorf("expire noncurrent COMPLIANCE: %v", err)
	}
	// A delete without version id adds a marker.
	if res, err := e.DeleteObjectVersion(ctx, "b", "h", ""); err != nil || !res.DeleteMarker {
		t.Errorf("plain delete: %+v %v", res, err)
	}
	checkRetentionRules(t, ctx, e, comp, gov, future)
	if err := e.SetObjectLegalHold(ctx, "b", "h", hold.VersionID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DeleteObjectVersion(ctx, "b", "h", hold.VersionID); err != nil {
		t.Errorf("delete after legal hold off: %v", err)
	}
	if _, err := e.DeleteVersionBypass(ctx, "b", "g", gov.VersionID, true); err != nil {
		t.Errorf("bypass delete of GOVERNANCE: %v", err)
	}
	if err := e.SetBucketVersioning(ctx, "b", store.VersioningSuspended); !errors.Is(err, store.ErrInvalidBucketState) {
		t.Errorf("suspend a lock bucket: %v", err)
	}
}

// checkRetentionRules: COMPLIANCE is never shortened, removed or turned
// into GOVERNANCE; GOVERNANCE only with the bypass; extending is free.
func checkRetentionRules(t *testing.T, ctx context.Context, e *Engine, comp, gov store.ObjectInfo, until time.Time) {
	t.Helper()
	shorter := store.Retention{Mode: store.LockCompliance, RetainUntil: until.Add(-time.Minute)}
	for _, r := range []store.Retention{shorter, {}, {Mode: store.LockGovernance, RetainUntil: until.Add(time.Hour)}} {
		if err := e.SetObjectRetention(ctx, "b", "c", comp.VersionID, r, true); !errors.Is(err, store.ErrObjectLocked) {
			t.Errorf("COMPLIANCE to %+v: %v", r, err)
		}
	}
	longer := store.Retention{Mode: store.LockCompliance, RetainUntil: until.Add(time.Hour)}
	if err := e.SetObjectRetention(ctx, "b", "c", comp.VersionID, longer, false); err != nil {
		t.Errorf("extend COMPLIANCE: %v", err)
	}
	if err := e.SetObjectRetention(ctx, "b", "g", gov.VersionID, store.Retention{}, false); !errors.Is(err, store.ErrObjectLocked) {
		t.Errorf("remove GOVERNANCE without bypass: %v", err)
	}
	if err := e.SetObjectRetention(ctx, "b", "g", gov.VersionID, store.Retention{}, true); err != nil {
		t.Errorf("remove GOVERNANCE with bypass: %v", err)
	}
	if err := e.SetObjectRetention(ctx, "b", "g", gov.VersionID, store.Retention{Mode: store.LockGovernance, RetainUntil: until}, false); err != nil {
		t.Errorf("set GOVERNANCE again: %v", err)
	}
}

// TestObjectLockDefaultAndUnlocked: the default retention applies to new
// versions; a bucket without Object Lock refuses lock settings.
func TestObjectLockDefaultAndUnlocked(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	lockBucket(t, ctx, e, "b", store.ObjectLockConfig{Mode: store.LockGovernance, Days: 2})
	oi := putLocked(t, ctx, e, "b", "k", store.ObjectMeta{})
	want := oi.LastModified.AddDate(0, 0, 2)
	if oi.Meta.LockMode != store.LockGovernance || !oi.Meta.LockRetainUntil.Equal(want) {
		t.Fatalf("default retention: %q %v, want GOVERNANCE %v", oi.Meta.LockMode, oi.Meta.LockRetainUntil, want)
	}
	if _, err := e.DeleteObjectVersion(ctx, "b", "k", oi.VersionID); !errors.Is(err, store.ErrObjectLocked) {
		t.Errorf("delete under default retention: %v", err)
	}
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "plain", Owner: "o"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.PutObject(ctx, "plain", "k", strings.NewReader("x"), 1, store.PutOptions{Meta: store.ObjectMeta{LegalHold: true}})
	if !errors.Is(err, store.ErrObjectLockNotEnabled) {
		t.Errorf("locked put in a plain bucket: %v", err)
	}
	if _, err := e.ObjectLockConfig(ctx, "plain"); !errors.Is(err, store.ErrNoObjectLockConfig) {
		t.Errorf("config of a plain bucket: %v", err)
	}
	if err := e.SetObjectLockConfig(ctx, "plain", store.ObjectLockConfig{Enabled: true}, false); !errors.Is(err, store.ErrInvalidBucketState) {
		t.Errorf("lock on an unversioned bucket: %v", err)
	}
}

// TestSetVersionLock: a cluster replica's lock change applies in a
// bucket whose own record has no Object Lock (the cluster's has), is
// enforced by every removal, and cannot weaken a retention in force
// without the bypass (GOVERNANCE) or at all (COMPLIANCE).
func TestSetVersionLock(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "o"}); err != nil {
		t.Fatal(err)
	}
	if err := e.SetBucketVersioning(ctx, "b", store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	v := putLocked(t, ctx, e, "b", "k", store.ObjectMeta{})
	on, off := true, false
	if err := e.SetVersionLock(ctx, "b", "k", v.VersionID, store.LockChange{LegalHold: &on}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DeleteVersionBypass(ctx, "b", "k", v.VersionID, true); !errors.Is(err, store.ErrObjectLocked) {
		t.Fatalf("delete under a replica's legal hold: %v", err)
	}
	until := time.Now().Add(time.Hour).UTC()
	gov := store.Retention{Mode: store.LockGovernance, RetainUntil: until}
	if err := e.SetVersionLock(ctx, "b", "k", v.VersionID, store.LockChange{LegalHold: &off, Retention: &gov}); err != nil {
		t.Fatal(err)
	}
	info, err := e.HeadObjectVersion(ctx, "b", "k", v.VersionID)
	if err != nil || info.Meta.LegalHold || info.Meta.LockMode != store.LockGovernance || !info.Meta.LockRetainUntil.Equal(until) {
		t.Fatalf("after the change: %+v, %v", info.Meta, err)
	}
	none := store.Retention{}
	if err := e.SetVersionLock(ctx, "b", "k", v.VersionID, store.LockChange{Retention: &none}); !errors.Is(err, store.ErrObjectLocked) {
		t.Fatalf("lift GOVERNANCE without the bypass: %v", err)
	}
	comp := store.Retention{Mode: store.LockCompliance, RetainUntil: until}
	if err := e.SetVersionLock(ctx, "b", "k", v.VersionID, store.LockChange{Retention: &comp}); err != nil {
		t.Fatal(err)
	}
	if err := e.SetVersionLock(ctx, "b", "k", v.VersionID, store.LockChange{Retention: &none, Bypass: true}); !errors.Is(err, store.ErrObjectLocked) {
		t.Fatalf("lift COMPLIANCE with the bypass: %v", err)
	}
	if _, err := e.DeleteVersionBypass(ctx, "b", "k", v.VersionID, true); !errors.Is(err, store.ErrObjectLocked) {
		t.Fatalf("delete under COMPLIANCE: %v", err)
	}
}
