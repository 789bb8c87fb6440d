package cluster

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// justAfter(s) is after s, and every stamp after s other than itself is
// after it too: nothing sorts between them, so a tombstone stamped
// justAfter(seen) loses to every write made after seen. Names are drawn
// from a small alphabet with prefixes of each other, and HLCs from a
// small range, so ties and neighbours are common.
func TestJustAfterIsTheSuccessor(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"", "a", "a-", "a0", "ab", "b", "node1", "node10", "node2", "a\x00", "a\x00\x00"}
	stamp := func() store.Stamp {
		return store.Stamp{HLC: uint64(rng.IntN(4)), Node: names[rng.IntN(len(names))]}
	}
	for range 20000 {
		s, u := stamp(), stamp()
		n := justAfter(s)
		if !n.After(s) || s.After(n) {
			t.Fatalf("justAfter(%#v) = %#v is not after it", s, n)
		}
		if u.After(s) && u != n && !u.After(n) {
			t.Fatalf("%#v is after %#v but not after justAfter = %#v: a later write would lose to the tombstone", u, s, n)
		}
		if n.After(u) && !s.After(u) && u != s {
			t.Fatalf("%#v lies strictly between %#v and justAfter = %#v", u, s, n)
		}
	}
	// No node name can be a successor: names are [a-z0-9-].
	if nameRE.MatchString(justAfter(store.Stamp{HLC: 1, Node: "node1"}).Node) {
		t.Fatal("a node could write the tombstone's stamp")
	}
}

// A version is the one seen with the same stamp, ETag and size (the
// replicas of one write differ in LastModified); without a stamp, with
// the same ETag, size and LastModified.
func TestSameVersion(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	cur := store.ObjectInfo{ETag: "e", Size: 3, LastModified: t0, Stamp: store.Stamp{HLC: 7, Node: "n"}}
	unstamped := cur
	unstamped.Stamp = store.Stamp{}
	otherReplica := cur // another replica of the same write: its own commit time
	otherReplica.LastModified = t0.Add(time.Millisecond)
	if !sameVersion(cur, cur) || !sameVersion(cur, unstamped) || !sameVersion(cur, otherReplica) {
		t.Fatal("the same version is not recognised")
	}
	for name, edit := range map[string]func(*store.ObjectInfo){
		"etag":           func(o *store.ObjectInfo) { o.ETag = "f" },
		"size":           func(o *store.ObjectInfo) { o.Size = 4 },
		"time, no stamp": func(o *store.ObjectInfo) { o.Stamp = store.Stamp{}; o.LastModified = t0.Add(time.Nanosecond) },
		"stamp":          func(o *store.ObjectInfo) { o.Stamp.HLC++ },
	} {
		o := cur
		edit(&o)
		if sameVersion(cur, o) {
			t.Errorf("%s differs but counts as the same version", name)
		}
	}
}

// A tombstone's grace runs from when it was installed here when that is
// later than its stamp: a lifecycle tombstone stamped just after a
// month-old write is kept for the grace, so a node that was away cannot
// bring the object back right after.
func TestTombstoneGraceFromInstall(t *testing.T) {
	now := time.Now()
	old := physical(now.AddDate(0, -1, 0))
	fresh := store.ObjectInfo{Deleted: true, Stamp: store.Stamp{HLC: old, Node: "a\x00"}, LastModified: now.Add(-time.Minute)}
	if graceOver(fresh, time.Hour, now) {
		t.Fatal("a tombstone installed a minute ago with a month-old stamp is past its grace")
	}
	stale := fresh
	stale.LastModified = now.Add(-2 * time.Hour)
	if !graceOver(stale, time.Hour, now) {
		t.Fatal("a tombstone installed two hours ago is within an hour's grace")
	}
	recent := store.ObjectInfo{Deleted: true, Stamp: store.Stamp{HLC: physical(now.Add(-time.Minute)), Node: "a"}}
	if graceOver(recent, time.Hour, now) {
		t.Fatal("a tombstone stamped a minute ago (no install time) is past its grace")
	}
}
