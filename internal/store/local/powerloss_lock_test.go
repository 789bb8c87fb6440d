package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// plLockFact is what an acknowledged Object Lock step promises: version
// id of "k" is locked (held by a legal hold, or retained until until).
type plLockFact struct {
	id    string
	hold  bool
	until time.Time
}

// plLockRun runs an Object Lock workload on m until the power goes: a
// lock bucket with a default retention, a put under legal hold, a put with
// COMPLIANCE retention, a plain put then locked in place by
// SetObjectLegalHold and by SetObjectRetention. It returns whether the
// bucket's configuration was acknowledged and the acknowledged facts.
func plLockRun(ctx context.Context, t *testing.T, m *plMachine) (bool, []plLockFact) {
	t.Helper()
	e := m.open(ctx, t)
	defer e.Close()
	until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Millisecond)
	put := func(meta store.ObjectMeta) (string, error) {
		oi, err := e.PutObject(ctx, "b", "k", bytes.NewReader([]byte("locked")), 6, store.PutOptions{Meta: meta})
		return oi.VersionID, err
	}
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "o"}); err != nil || m.clock.isCrashed() {
		return false, nil
	}
	if err := e.SetObjectLockConfig(ctx, "b", store.ObjectLockConfig{Enabled: true}, true); err != nil || m.clock.isCrashed() {
		return false, nil
	}
	var facts []plLockFact
	steps := []func() (plLockFact, error){
		func() (plLockFact, error) {
			id, err := put(store.ObjectMeta{LegalHold: true})
			return plLockFact{id: id, hold: true}, err
		},
		func() (plLockFact, error) {
			id, err := put(store.ObjectMeta{LockMode: store.LockCompliance, LockRetainUntil: until})
			return plLockFact{id: id, until: until}, err
		},
		func() (plLockFact, error) {
			id, err := put(store.ObjectMeta{})
			if err != nil {
				return plLockFact{}, err
			}
			return plLockFact{id: id, hold: true}, e.SetObjectLegalHold(ctx, "b", "k", id, true)
		},
		func() (plLockFact, error) {
			id, err := put(store.ObjectMeta{})
			if err != nil {
				return plLockFact{}, err
			}
			return plLockFact{id: id, until: until}, e.SetObjectRetention(ctx, "b", "k", id, store.Retention{Mode: store.LockCompliance, RetainUntil: until}, false)
		},
	}
	for _, s := range steps {
		f, err := s()
		if m.clock.isCrashed() {
			return true, facts
		}
		if err != nil {
			t.Fatalf("lock step before any crash: %v", err)
		}
		facts = append(facts, f)
	}
	return true, facts
}

// plLockCheck reopens the engine: the acknowledged configuration and every
// acknowledged lock survive, and each locked version refuses removal.
func plLockCheck(ctx context.Context, t *testing.T, m *plMachine, configured bool, facts []plLockFact) error {
	e := m.open(ctx, t)
	defer e.Close()
	if !configured {
		return nil
	}
	if _, err := e.ObjectLockConfig(ctx, "b"); err != nil {
		return fmt.Errorf("lock configuration: %w", err)
	}
	for _, f := range facts {
		oi, err := e.HeadObjectVersion(ctx, "b", "k", f.id)
		if err != nil {
			return fmt.Errorf("version %s: %w", f.id, err)
		}
		if oi.Meta.LegalHold != f.hold || !oi.Meta.LockRetainUntil.Equal(f.until) {
			return fmt.Errorf("version %s: hold %v until %v, want %v %v", f.id, oi.Meta.LegalHold, oi.Meta.LockRetainUntil, f.hold, f.until)
		}
		if _, err := e.DeleteObjectVersion(ctx, "b", "k", f.id); !errors.Is(err, store.ErrObjectLocked) {
			return fmt.Errorf("delete of locked version %s: %v", f.id, err)
		}
	}
	return nil
}

// TestPowerLossLocked: the power goes at every point of an Object Lock
// workload and a restart finds every acknowledged lock (set at write or
// in place) in force: a lock is written in the same synced commit as its
// version, so no crash leaves a locked version unlocked.
func TestPowerLossLocked(t *testing.T) {
	ctx := context.Background()
	probe := newPLMachine(0)
	plLockRun(ctx, t, probe)
	ops := probe.clock.ops
	points := plPoints(ops, 20261130)
	t.Logf("%d operations, %d crash points", len(ops), len(points))
	for _, k := range points {
		m := newPLMachine(k)
		configured, facts := plLockRun(ctx, t, m)
		m.powerCut()
		if err := plLockCheck(ctx, t, m, configured, facts); err != nil {
			t.Fatalf("power lost before operation %d of %d: %v", k, len(ops), err)
		}
	}
}
