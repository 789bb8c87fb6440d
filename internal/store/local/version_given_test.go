package local

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// givenPut stores body as version VersionIDOf(s) of bucket/key, as a
// cluster coordinator's write does.
func givenPut(e *Engine, bucket, key, body string, s store.Stamp) (string, error) {
	id := store.VersionIDOf(s)
	_, err := e.PutObject(context.Background(), bucket, key, strings.NewReader(body), int64(len(body)),
		store.PutOptions{Stamp: s, VersionID: id})
	return id, err
}

// listIDs lists bucket's versions from (keyMarker, idMarker): "id" or
// "id*" for the latest, "id/m" for a marker.
func listIDs(t *testing.T, e *Engine, bucket, keyMarker, idMarker string) []string {
	t.Helper()
	res, err := e.ListObjectVersions(context.Background(), bucket, store.ListVersionsOptions{KeyMarker: keyMarker, VersionIDMarker: idMarker})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range res.Versions {
		s := v.Info.VersionID
		if v.IsLatest {
			s += "*"
		}
		if v.Info.DeleteMarker {
			s += "/m"
		}
		out = append(out, s)
	}
	return out
}

// Versions with given ids (a cluster's replicas) land in id order
// whatever order they arrive in, in a bucket whose own state was never
// set: the newest is the latest; a version held already is superseded;
// a version listing resumes in place after a marker this node does not
// hold; a plain replica write or tombstone reaching a key with versions
// becomes a version (marker) of its own stamp instead of overwriting
// the latest; Drop leaves versions alone.
func TestGivenVersions(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	mustBucket(t, e, "b")
	base := uint64(time.Now().UnixMilli()) << 16
	s1, s2, s3 := st(base+1, "n1"), st(base+2<<16, "n2"), st(base+3<<16, "n1")
	id3, err := givenPut(e, "b", "k", "three", s3)
	if err != nil {
		t.Fatal(err)
	}
	id1 := store.VersionIDOf(s1)
	if err := e.PutReplica(ctx, store.ObjectInfo{Bucket: "b", Key: "k", Size: 3, ETag: "", Stamp: s1, VersionID: id1,
		LastModified: time.Now().UTC()}, strings.NewReader("one")); err != nil {
		t.Fatal(err)
	}
	id2 := store.VersionIDOf(s2)
	if err := e.PutReplica(ctx, store.ObjectInfo{Bucket: "b", Key: "k", Stamp: s2, VersionID: id2, DeleteMarker: true,
		LastModified: time.Now().UTC()}, http.NoBody); err != nil {
		t.Fatal(err)
	}
	if !(id3 < id2 && id2 < id1) {
		t.Fatalf("ids do not sort newest first: %s %s %s", id3, id2, id1)
	}
	if got, err := readBody(t, e, "b", "k"); got != "three" || err != nil {
		t.Fatalf("latest = %q, %v", got, err)
	}
	if want := []string{id3 + "*", id2 + "/m", id1}; !slices.Equal(listIDs(t, e, "b", "", ""), want) {
		t.Fatalf("versions %q, want %q", listIDs(t, e, "b", "", ""), want)
	}
	if _, err := givenPut(e, "b", "k", "one again", s1); !errors.Is(err, store.ErrSuperseded) {
		t.Fatalf("a version held again: %v", err)
	}
	absent := store.VersionIDOf(st(base+2<<16+5, "n3")) // between id3 and id2
	if got, want := listIDs(t, e, "b", "k", absent), []string{id2 + "/m", id1}; !slices.Equal(got, want) {
		t.Fatalf("resumed after a marker not held here: %q, want %q", got, want)
	}

	s4 := st(base+4<<16, "n2")
	if err := stampedReplica(e, "b", "k", "four", s4); err != nil {
		t.Fatal(err)
	}
	id4 := store.VersionIDOf(s4)
	if err := e.DeleteReplica(ctx, "b", "k", st(base+5<<16, "n1")); err != nil {
		t.Fatal(err)
	}
	id5 := store.VersionIDOf(st(base+5<<16, "n1"))
	if want := []string{id5 + "*/m", id4, id3, id2 + "/m", id1}; !slices.Equal(listIDs(t, e, "b", "", ""), want) {
		t.Fatalf("after a plain write and a tombstone: %q, want %q", listIDs(t, e, "b", "", ""), want)
	}
	if err := e.Drop(ctx, "b", "k", st(base+5<<16, "n1")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DeleteObjectVersion(ctx, "b", "k", id5); err != nil {
		t.Fatal(err)
	}
	if got, err := readBody(t, e, "b", "k"); got != "four" || err != nil {
		t.Fatalf("latest after removing the marker = %q, %v (Drop must not remove a version)", got, err)
	}
	_, rc, err := e.GetObjectVersion(ctx, "b", "k", id3, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
}

// stampedReplica stores body as bucket/key through PutReplica, without a
// version id, carrying s.
func stampedReplica(e *Engine, bucket, key, body string, s store.Stamp) error {
	return e.PutReplica(context.Background(), store.ObjectInfo{Bucket: bucket, Key: key, Size: int64(len(body)), Stamp: s,
		LastModified: time.Now().UTC()}, strings.NewReader(body))
}

// nullReplica stores body (or a delete marker when body is "") as the
// null version carrying s, through PutReplica.
func nullReplica(e *Engine, bucket, key, body string, s store.Stamp) error {
	info := store.ObjectInfo{Bucket: bucket, Key: key, Size: int64(len(body)), Stamp: s, VersionID: store.NullVersionID,
		LastModified: time.Now().UTC(), DeleteMarker: body == ""}
	return e.PutReplica(context.Background(), info, strings.NewReader(body))
}

// The null version a cluster writes in a Suspended bucket replaces the
// key's null version, current or noncurrent, when its stamp is newer
// (else superseded), and sorts among the other versions by its stamp.
func TestGivenNullVersions(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	mustBucket(t, e, "b")
	base := uint64(time.Now().UnixMilli()) << 16
	s := func(i uint64) store.Stamp { return st(base+i<<16, "n1") }
	id1, err := givenPut(e, "b", "k", "one", s(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		body string
		at   uint64
		want string // the body read as the latest; "" a delete marker
		err  error
	}{
		{"two", 2, "two", nil},
		{"three", 3, "three", nil},
		{"stale", 2, "three", store.ErrSuperseded},
	} {
		if err := nullReplica(e, "b", "k", step.body, s(step.at)); !errors.Is(err, step.err) {
			t.Fatalf("null %q: %v, want %v", step.body, err, step.err)
		}
		if got, err := readBody(t, e, "b", "k"); got != step.want || err != nil {
			t.Fatalf("after null %q the latest is %q, %v", step.body, got, err)
		}
		if got, want := listIDs(t, e, "b", "", ""), []string{"null*", id1}; !slices.Equal(got, want) {
			t.Fatalf("after null %q: %q, want %q", step.body, got, want)
		}
	}
	id4, err := givenPut(e, "b", "k", "four", s(4))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := listIDs(t, e, "b", "", ""), []string{id4 + "*", "null", id1}; !slices.Equal(got, want) {
		t.Fatalf("after version four: %q, want %q", got, want)
	}
	if err := nullReplica(e, "b", "k", "", s(5)); err != nil { // a null delete marker replaces the noncurrent null
		t.Fatal(err)
	}
	if got, want := listIDs(t, e, "b", "", ""), []string{"null*/m", id4, id1}; !slices.Equal(got, want) {
		t.Fatalf("after the null marker: %q, want %q", got, want)
	}
	if _, err := readBody(t, e, "b", "k"); !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("the latest is a delete marker: %v", err)
	}
	if _, err := e.DeleteObjectVersion(ctx, "b", "k", store.NullVersionID); err != nil {
		t.Fatal(err)
	}
	if got, err := readBody(t, e, "b", "k"); got != "four" || err != nil {
		t.Fatalf("after removing the null marker: %q, %v", got, err)
	}
}
