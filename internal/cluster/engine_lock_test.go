package cluster

import (
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// TestWithDefaultRetention: a version naming no retention gets the
// bucket's default from the coordinator's clock; one naming its own, or
// a bucket without a default, keeps what it has.
func TestWithDefaultRetention(t *testing.T) {
	now := time.Date(2026, 2, 28, 12, 0, 0, 0, time.UTC)
	days := &store.ObjectLockConfig{Enabled: true, Mode: store.LockGovernance, Days: 2}
	years := &store.ObjectLockConfig{Enabled: true, Mode: store.LockCompliance, Years: 1}
	own := store.ObjectMeta{LockMode: store.LockCompliance, LockRetainUntil: now.Add(time.Hour)}
	for _, c := range []struct {
		m     store.ObjectMeta
		lock  *store.ObjectLockConfig
		mode  string
		until time.Time
	}{
		{store.ObjectMeta{}, nil, "", time.Time{}},
		{store.ObjectMeta{}, &store.ObjectLockConfig{Enabled: true}, "", time.Time{}},
		{store.ObjectMeta{}, days, store.LockGovernance, now.AddDate(0, 0, 2)},
		{store.ObjectMeta{LegalHold: true}, years, store.LockCompliance, now.AddDate(1, 0, 0)},
		{own, days, store.LockCompliance, own.LockRetainUntil},
	} {
		got := withDefaultRetention(c.m, c.lock, now)
		if got.LockMode != c.mode || !got.LockRetainUntil.Equal(c.until) || got.LegalHold != c.m.LegalHold {
			t.Errorf("withDefaultRetention(%+v, %+v) = %+v; want %s until %v", c.m, c.lock, got, c.mode, c.until)
		}
	}
}
