package ui

import (
	"strconv"
	"testing"
	"time"
)

// TestLimiterBoundsMemory floods the limiter with new keys: it never holds
// more than max (plus the overflow window), the flood shares one window,
// and keys known before keep their own.
func TestLimiterBoundsMemory(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := newLimiter(3, time.Minute, 100, func() time.Time { return now })
	if ok, _ := l.allow("known"); !ok {
		t.Fatal("first attempt refused")
	}
	refused := 0
	for i := range 1000 {
		if ok, _ := l.allow("flood-" + strconv.Itoa(i)); !ok {
			refused++
		}
	}
	if n := len(l.byKey); n > 101 {
		t.Errorf("the limiter holds %d keys, want at most 101", n)
	}
	if refused < 800 {
		t.Errorf("only %d of 1000 flood attempts refused: the overflow window does not limit", refused)
	}
	if ok, _ := l.allow("known"); !ok {
		t.Errorf("a known key was refused by the flood")
	}
	now = now.Add(time.Minute)
	if ok, _ := l.allow("new-after-a-minute"); !ok {
		t.Errorf("a new key after the windows ended was refused")
	}
}
