package cluster

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// A tombstone of an id other than null covers every copy of it, whatever
// its stamp (a removal that reached a node before the version did keeps
// the zero stamp); a null version's covers only copies not newer.
func TestTombFor(t *testing.T) {
	s1, s2 := store.Stamp{HLC: 10, Node: "a"}, store.Stamp{HLC: 20, Node: "b"}
	id := store.VersionIDOf(s1)
	ours := store.ObjectInfo{Key: "k", VersionID: id, Stamp: s1}
	theirs := map[string]store.VersionHeld{"b": {}, "c": {Tomb: &store.ObjectInfo{Key: "k", VersionID: id, Deleted: true}}}
	if tomb, ok := tombFor(ours, theirs); !ok || tomb.VersionID != id {
		t.Fatalf("a zero-stamp tombstone of the id does not cover it: %+v %v", tomb, ok)
	}
	null := store.ObjectInfo{Key: "k", VersionID: store.NullVersionID, Stamp: s2}
	older := map[string]store.VersionHeld{"b": {Tomb: &store.ObjectInfo{Key: "k", VersionID: store.NullVersionID, Stamp: s1, Deleted: true}}}
	if _, ok := tombFor(null, older); ok {
		t.Fatal("an older null tombstone covers a newer null version")
	}
	null.Stamp = s1
	if _, ok := tombFor(null, older); !ok {
		t.Fatal("a null tombstone does not cover the null version it removed")
	}
}

// lookupVersionsLocal answers, per (key, id), the version and its
// tombstone as the local engine holds them.
func TestLookupVersionsLocal(t *testing.T) {
	ctx := context.Background()
	l, err := local.OpenWith(ctx, t.TempDir(), local.Options{Logger: slog.New(slog.DiscardHandler), VersionTombstones: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.CreateBucket(ctx, store.BucketInfo{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, s := range []store.Stamp{{HLC: 1 << 40, Node: "a"}, {HLC: 2 << 40, Node: "a"}} {
		id := store.VersionIDOf(s)
		body := []string{"one", "two"}[i]
		if _, err := l.PutObject(ctx, "b", "k", strings.NewReader(body), int64(len(body)), store.PutOptions{Stamp: s, VersionID: id}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := l.DeleteObjectVersion(ctx, "b", "k", ids[0]); err != nil {
		t.Fatal(err)
	}
	hs, err := lookupVersionsLocal(ctx, l, versionLookupArgs{Bucket: "b", Keys: []string{"k", "k", "none"}, IDs: []string{ids[0], ids[1], ids[1]}})
	if err != nil || len(hs) != 3 {
		t.Fatalf("%+v, %v", hs, err)
	}
	if hs[0].Version != nil || hs[0].Tomb == nil || hs[1].Version == nil || hs[1].Tomb != nil || hs[2].Version != nil || hs[2].Tomb != nil {
		t.Fatalf("lookups: removed %+v, held %+v, missing %+v", hs[0], hs[1], hs[2])
	}
	if _, err := lookupVersionsLocal(ctx, l, versionLookupArgs{Bucket: "b", Keys: []string{"k"}}); err == nil {
		t.Fatal("keys and ids of different lengths accepted")
	}
}
