package local

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// openTombs opens an engine that keeps version tombstones, as a cluster
// node's does.
func openTombs(t *testing.T) *Engine {
	t.Helper()
	e, err := OpenWith(context.Background(), t.TempDir(), Options{Logger: testLogger(t), VersionTombstones: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// walkVersions returns what WalkVersions yields as "key id" for
// versions and "key id/t" for tombstones.
func walkVersions(t *testing.T, e *Engine) []string {
	t.Helper()
	var out []string
	err := e.WalkVersions(context.Background(), func(oi store.ObjectInfo) error {
		s := oi.Key + " " + oi.VersionID
		if oi.Deleted {
			s += "/t"
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Removing a version by id keeps its tombstone: a copy of it arriving
// later (a repair push, PutReplica) is refused and LookupVersion shows
// the tombstone; WalkVersions yields noncurrent versions then
// tombstones; DropVersionTomb forgets a tombstone only with its stamp.
func TestVersionTombstones(t *testing.T) {
	ctx := context.Background()
	e := openTombs(t)
	mustBucket(t, e, "b")
	base := uint64(time.Now().UnixMilli()) << 16
	s1, s2, s3 := st(base+1, "n1"), st(base+2<<16, "n2"), st(base+3<<16, "n1")
	var ids []string
	for i, s := range []store.Stamp{s1, s2, s3} {
		id, err := givenPut(e, "b", "k", []string{"one", "two", "three"}[i], s)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if got, want := walkVersions(t, e), []string{"k " + ids[1], "k " + ids[0]}; !slices.Equal(got, want) {
		t.Fatalf("walk %q, want %q", got, want)
	}
	info2, err := e.HeadObjectVersion(ctx, "b", "k", ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.DeleteObjectVersion(ctx, "b", "k", ids[1]); err != nil {
		t.Fatal(err)
	}
	h, err := e.LookupVersion(ctx, "b", "k", ids[1])
	if err != nil || h.Version != nil || h.Tomb == nil || h.Tomb.Stamp != s2 || !h.Tomb.Deleted {
		t.Fatalf("lookup after removal = %+v, %v", h, err)
	}
	err = e.PutReplica(ctx, info2, strings.NewReader("two"))
	if !errors.Is(err, store.ErrSuperseded) {
		t.Fatalf("a copy of a removed version: %v, want ErrSuperseded", err)
	}
	if _, err := e.HeadObjectVersion(ctx, "b", "k", ids[1]); !errors.Is(err, store.ErrNoSuchVersion) {
		t.Fatalf("removed version came back: %v", err)
	}
	if got, want := walkVersions(t, e), []string{"k " + ids[0], "k " + ids[1] + "/t"}; !slices.Equal(got, want) {
		t.Fatalf("walk %q, want %q", got, want)
	}
	if err := e.DropVersionTomb(ctx, "b", "k", ids[1], s1); err != nil {
		t.Fatal(err)
	}
	if h, _ := e.LookupVersion(ctx, "b", "k", ids[1]); h.Tomb == nil {
		t.Fatal("DropVersionTomb with another stamp dropped the tombstone")
	}
	if err := e.DropVersionTomb(ctx, "b", "k", ids[1], s2); err != nil {
		t.Fatal(err)
	}
	if h, _ := e.LookupVersion(ctx, "b", "k", ids[1]); h.Tomb != nil {
		t.Fatal("tombstone still held after DropVersionTomb")
	}
	// removing an id not held yet (its copy still in flight) keeps a
	// tombstone that refuses the copy when it arrives
	s4 := st(base+4<<16, "n3")
	id4 := store.VersionIDOf(s4)
	if _, err := e.DeleteObjectVersion(ctx, "b", "k", id4); err != nil {
		t.Fatal(err)
	}
	if _, err := givenPut(e, "b", "k", "four", s4); !errors.Is(err, store.ErrSuperseded) {
		t.Fatalf("a copy arriving after its version's removal: %v, want ErrSuperseded", err)
	}
}

// RemoveVersionReplica removes the version it names (the latest too,
// promoting the next), keeps the tombstone, leaves a newer null version
// alone and never removes a locked version.
func TestRemoveVersionReplica(t *testing.T) {
	ctx := context.Background()
	e := openTombs(t)
	mustBucket(t, e, "b")
	base := uint64(time.Now().UnixMilli()) << 16
	s1, s2 := st(base+1, "n1"), st(base+2<<16, "n2")
	id1, _ := givenPut(e, "b", "k", "one", s1)
	id2, err := givenPut(e, "b", "k", "two", s2)
	if err != nil {
		t.Fatal(err)
	}
	tomb := store.ObjectInfo{Bucket: "b", Key: "k", VersionID: id2, Stamp: s2, Deleted: true}
	if err := e.RemoveVersionReplica(ctx, tomb); err != nil {
		t.Fatal(err)
	}
	if got, err := readBody(t, e, "b", "k"); got != "one" || err != nil {
		t.Fatalf("latest after removing it = %q, %v; want the promoted one", got, err)
	}
	if want := []string{id1 + "*"}; !slices.Equal(listIDs(t, e, "b", "", ""), want) {
		t.Fatalf("versions %q, want %q", listIDs(t, e, "b", "", ""), want)
	}
	// a tombstone of a version never held is kept, and refuses it later
	s3 := st(base+3<<16, "n3")
	id3 := store.VersionIDOf(s3)
	if err := e.RemoveVersionReplica(ctx, store.ObjectInfo{Bucket: "b", Key: "k", VersionID: id3, Stamp: s3, Deleted: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := givenPut(e, "b", "k", "three", s3); !errors.Is(err, store.ErrSuperseded) {
		t.Fatalf("put of a version removed before it arrived: %v", err)
	}
	// a null version newer than the tombstone stays
	s4, s5 := st(base+4<<16, "n1"), st(base+5<<16, "n1")
	if _, err := e.PutObject(ctx, "b", "k", strings.NewReader("null"), 4, store.PutOptions{Stamp: s5, VersionID: store.NullVersionID}); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveVersionReplica(ctx, store.ObjectInfo{Bucket: "b", Key: "k", VersionID: store.NullVersionID, Stamp: s4, Deleted: true}); err != nil {
		t.Fatal(err)
	}
	if got, err := readBody(t, e, "b", "k"); got != "null" || err != nil {
		t.Fatalf("a newer null version was removed by an older tombstone: %q, %v", got, err)
	}
	// a locked version stays
	hold := true
	if err := e.SetVersionLock(ctx, "b", "k", id1, store.LockChange{LegalHold: &hold}); err != nil {
		t.Fatal(err)
	}
	err = e.RemoveVersionReplica(ctx, store.ObjectInfo{Bucket: "b", Key: "k", VersionID: id1, Stamp: s1, Deleted: true})
	if !errors.Is(err, store.ErrObjectLocked) {
		t.Fatalf("removing a version on legal hold: %v, want ErrObjectLocked", err)
	}
	if h, err := e.LookupVersion(ctx, "b", "k", id1); err != nil || h.Version == nil || h.Tomb != nil {
		t.Fatalf("locked version after a refused tombstone: %+v, %v", h, err)
	}
}

// Without Options.VersionTombstones (a single node) a removal keeps no
// tombstone.
func TestNoVersionTombstonesAlone(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	mustBucket(t, e, "b")
	id, err := givenPut(e, "b", "k", "one", st(uint64(time.Now().UnixMilli())<<16, "n1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.DeleteObjectVersion(ctx, "b", "k", id); err != nil {
		t.Fatal(err)
	}
	if got := walkVersions(t, e); len(got) != 0 {
		t.Fatalf("walk %q, want nothing", got)
	}
}

// DropVersionCopy forgets a version's copy with exactly its stamp and
// keeps no tombstone (the version moved): a copy of it may come back.
func TestDropVersionCopy(t *testing.T) {
	ctx := context.Background()
	e := openTombs(t)
	mustBucket(t, e, "b")
	base := uint64(time.Now().UnixMilli()) << 16
	s1, s2 := st(base+1, "n1"), st(base+2<<16, "n2")
	id1, _ := givenPut(e, "b", "k", "one", s1)
	id2, err := givenPut(e, "b", "k", "two", s2)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.DropVersionCopy(ctx, "b", "k", id2, s1); err != nil {
		t.Fatal(err)
	}
	if h, _ := e.LookupVersion(ctx, "b", "k", id2); h.Version == nil {
		t.Fatal("DropVersionCopy with another stamp dropped the copy")
	}
	if err := e.DropVersionCopy(ctx, "b", "k", id2, s2); err != nil {
		t.Fatal(err)
	}
	h, err := e.LookupVersion(ctx, "b", "k", id2)
	if err != nil || h.Version != nil || h.Tomb != nil {
		t.Fatalf("after DropVersionCopy: %+v, %v; want neither copy nor tombstone", h, err)
	}
	if got, err := readBody(t, e, "b", "k"); got != "one" || err != nil {
		t.Fatalf("latest after dropping it = %q, %v; want the promoted one", got, err)
	}
	if _, err := givenPut(e, "b", "k", "two", s2); err != nil {
		t.Fatalf("a moved version copied back: %v", err)
	}
	hold := true
	if err := e.SetVersionLock(ctx, "b", "k", id1, store.LockChange{LegalHold: &hold}); err != nil {
		t.Fatal(err)
	}
	if err := e.DropVersionCopy(ctx, "b", "k", id1, s1); !errors.Is(err, store.ErrObjectLocked) {
		t.Fatalf("dropping a copy on legal hold: %v, want ErrObjectLocked", err)
	}
}

// Stamped ACL and lock changes: one not newer than the copy's is ignored;
// SyncVersionSettings takes each newer field group from another copy and
// only for the copy with the same stamp.
func TestVersionSettingsStamps(t *testing.T) {
	ctx := context.Background()
	e := openTombs(t)
	mustBucket(t, e, "b")
	base := uint64(time.Now().UnixMilli()) << 16
	s1 := st(base+1, "n1")
	id, err := givenPut(e, "b", "k", "one", s1)
	if err != nil {
		t.Fatal(err)
	}
	c5, c6, c7 := st(base+5<<16, "n1"), st(base+6<<16, "n2"), st(base+7<<16, "n3")
	meta := func() store.ObjectMeta {
		t.Helper()
		h, err := e.LookupVersion(ctx, "b", "k", id)
		if err != nil || h.Version == nil {
			t.Fatalf("lookup: %+v, %v", h, err)
		}
		return h.Version.Meta
	}
	if err := e.SetVersionACLAt(ctx, "b", "k", id, "public-read", c6); err != nil {
		t.Fatal(err)
	}
	if err := e.SetVersionACLAt(ctx, "b", "k", id, "private", c5); err != nil {
		t.Fatal(err)
	}
	if m := meta(); m.ACL != "public-read" || m.ACLStamp != c6 {
		t.Fatalf("an older ACL change overwrote a newer one: %q %v", m.ACL, m.ACLStamp)
	}
	hold := true
	if err := e.SetVersionLock(ctx, "b", "k", id, store.LockChange{LegalHold: &hold, Stamp: c5}); err != nil {
		t.Fatal(err)
	}
	other := store.ObjectMeta{ACL: "authenticated-read", ACLStamp: c5, LegalHold: false, LegalHoldSet: true, LockStamp: c7}
	if err := e.SyncVersionSettings(ctx, "b", "k", id, c5, other); err != nil {
		t.Fatal(err)
	}
	if m := meta(); !m.LegalHold {
		t.Fatal("settings of a copy with another stamp were taken")
	}
	if err := e.SyncVersionSettings(ctx, "b", "k", id, s1, other); err != nil {
		t.Fatal(err)
	}
	if m := meta(); m.ACL != "public-read" || m.ACLStamp != c6 || m.LegalHold || m.LockStamp != c7 {
		t.Fatalf("after sync: ACL %q %v, hold %v %v; want the newer ACL kept and the newer lock taken", m.ACL, m.ACLStamp, m.LegalHold, m.LockStamp)
	}
}
