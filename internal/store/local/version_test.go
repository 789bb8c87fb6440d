package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// modelVersion is one version in verModel.
type modelVersion struct {
	id     string
	marker bool
	body   string
}

// verModel is S3 versioning of one key in memory: versions newest first.
type verModel struct {
	state    string
	versions []modelVersion
}

func (m *verModel) dropNull() {
	out := m.versions[:0]
	for _, v := range m.versions {
		if v.id != store.NullVersionID {
			out = append(out, v)
		}
	}
	m.versions = out
}

// write records a put (marker false) or a delete marker whose id the
// engine returned.
func (m *verModel) write(v modelVersion) {
	switch m.state {
	case store.VersioningUnset:
		m.versions = nil
		if !v.marker {
			m.versions = []modelVersion{{id: store.NullVersionID, body: v.body}}
		}
		return
	case store.VersioningSuspended:
		m.dropNull()
		v.id = store.NullVersionID
	}
	m.versions = append([]modelVersion{v}, m.versions...)
}

func (m *verModel) remove(id string) {
	for i, v := range m.versions {
		if v.id == id {
			m.versions = append(m.versions[:i], m.versions[i+1:]...)
			return
		}
	}
}

// TestVersionsMatchModel runs random sequences of puts, deletes, version
// deletes and state changes on one key and checks after each step that the
// engine shows what the model of S3 versioning shows: the latest (or
// NoSuchKey), every version's body by id, and the version listing. At the
// end the engine is reopened and checked again.
func TestVersionsMatchModel(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir := t.TempDir()
			e := openTest(t, dir)
			ctx := context.Background()
			if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "o"}); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(seed, 7))
			m := &verModel{}
			for step := 0; step < 60; step++ {
				op := randomVersionOp(t, ctx, e, m, rng, step)
				checkModel(t, ctx, e, m, op)
			}
			e.Close()
			e2 := openTest(t, dir)
			checkModel(t, ctx, e2, m, "reopen")
		})
	}
}

// randomVersionOp applies one random operation to e and m and names it.
func randomVersionOp(t *testing.T, ctx context.Context, e *Engine, m *verModel, rng *rand.Rand, step int) string {
	t.Helper()
	switch n := rng.IntN(10); {
	case n < 4:
		body := fmt.Sprintf("body-%d", step)
		oi, err := e.PutObject(ctx, "b", "k", strings.NewReader(body), int64(len(body)), store.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m.write(modelVersion{id: oi.VersionID, body: body})
		return "put " + oi.VersionID
	case n < 6:
		res, err := e.DeleteObjectVersion(ctx, "b", "k", "")
		if err != nil {
			t.Fatal(err)
		}
		m.write(modelVersion{id: res.VersionID, marker: true})
		return "delete " + res.VersionID
	case n < 8:
		id := store.NullVersionID
		if len(m.versions) > 0 && rng.IntN(4) > 0 {
			id = m.versions[rng.IntN(len(m.versions))].id
		}
		if _, err := e.DeleteObjectVersion(ctx, "b", "k", id); err != nil {
			t.Fatal(err)
		}
		m.remove(id)
		return "delete version " + id
	default:
		st := store.VersioningEnabled
		if rng.IntN(2) == 0 {
			st = store.VersioningSuspended
		}
		if err := e.SetBucketVersioning(ctx, "b", st); err != nil {
			t.Fatal(err)
		}
		m.state = st
		return "set " + st
	}
}

// checkModel compares everything e shows of b/k with m.
func checkModel(t *testing.T, ctx context.Context, e *Engine, m *verModel, op string) {
	t.Helper()
	_, rc, err := e.GetObject(ctx, "b", "k", nil)
	if len(m.versions) == 0 || m.versions[0].marker {
		if !errors.Is(err, store.ErrNoSuchKey) {
			t.Fatalf("after %s: GET latest = %v, want NoSuchKey", op, err)
		}
	} else {
		if err != nil {
			t.Fatalf("after %s: GET latest: %v", op, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != m.versions[0].body {
			t.Fatalf("after %s: latest = %q, want %q", op, got, m.versions[0].body)
		}
	}
	for _, v := range m.versions {
		_, rc, err := e.GetObjectVersion(ctx, "b", "k", v.id, nil)
		if v.marker {
			if !errors.Is(err, store.ErrVersionIsDeleteMarker) {
				t.Fatalf("after %s: GET marker %s = %v", op, v.id, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("after %s: GET version %s: %v", op, v.id, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != v.body {
			t.Fatalf("after %s: version %s = %q, want %q", op, v.id, got, v.body)
		}
	}
	checkListing(t, ctx, e, m, op)
}

func checkListing(t *testing.T, ctx context.Context, e *Engine, m *verModel, op string) {
	t.Helper()
	var got []store.ObjectVersion
	opts := store.ListVersionsOptions{MaxKeys: 2}
	for {
		res, err := e.ListObjectVersions(ctx, "b", opts)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res.Versions...)
		if !res.IsTruncated {
			break
		}
		opts.KeyMarker, opts.VersionIDMarker = res.NextKeyMarker, res.NextVersionIDMarker
	}
	if len(got) != len(m.versions) {
		t.Fatalf("after %s: listing has %d versions, model %d: %+v", op, len(got), len(m.versions), got)
	}
	for i, v := range m.versions {
		g := got[i]
		if g.Info.VersionID != v.id || g.Info.DeleteMarker != v.marker || g.IsLatest != (i == 0) {
			t.Fatalf("after %s: listing[%d] = %s marker=%v latest=%v, want %s marker=%v", op, i, g.Info.VersionID, g.Info.DeleteMarker, g.IsLatest, v.id, v.marker)
		}
	}
}

// TestVersionFilesAndSweep checks that every version keeps its data file
// through a sweep, that DeleteBucket refuses a bucket holding only
// noncurrent versions or delete markers, and that removing every version
// unlinks every data file.
func TestVersionFilesAndSweep(t *testing.T) {
	dir := t.TempDir()
	e := openTest(t, dir)
	ctx := context.Background()
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "o"}); err != nil {
		t.Fatal(err)
	}
	put := func(key, body string) store.ObjectInfo {
		oi, err := e.PutObject(ctx, "b", key, strings.NewReader(body), int64(len(body)), store.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return oi
	}
	put("a", "pre-versioning")
	if err := e.SetBucketVersioning(ctx, "b", store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	ids := []string{store.NullVersionID, put("a", "v2").VersionID, put("a", "v3").VersionID}
	if err := e.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := bodies(t, e, dir); n != 3 {
		t.Fatalf("%d data files after sweep, want 3", n)
	}
	for i, want := range []string{"pre-versioning", "v2", "v3"} {
		_, rc, err := e.GetObjectVersion(ctx, "b", "a", ids[i], nil)
		if err != nil {
			t.Fatalf("version %s: %v", ids[i], err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != want {
			t.Fatalf("version %s = %q, want %q", ids[i], got, want)
		}
	}
	res, err := e.DeleteObjectVersion(ctx, "b", "a", "")
	if err != nil || !res.DeleteMarker {
		t.Fatalf("delete = %+v, %v", res, err)
	}
	for _, id := range ids {
		if _, err := e.DeleteObjectVersion(ctx, "b", "a", id); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.DeleteBucket(ctx, "b"); !errors.Is(err, store.ErrBucketNotEmpty) {
		t.Fatalf("DeleteBucket with a delete marker = %v, want ErrBucketNotEmpty", err)
	}
	if _, err := e.DeleteObjectVersion(ctx, "b", "a", res.VersionID); err != nil {
		t.Fatal(err)
	}
	if n := bodies(t, e, dir); n != 0 {
		t.Fatalf("%d data files after removing every version, want 0", n)
	}
	if _, _, err := e.GetObjectVersion(ctx, "b", "a", "nope", nil); !errors.Is(err, store.ErrInvalidVersionID) {
		t.Fatalf("bad id = %v", err)
	}
	if _, err := e.HeadObjectVersion(ctx, "b", "a", ids[1]); !errors.Is(err, store.ErrNoSuchVersion) {
		t.Fatalf("removed id = %v", err)
	}
	if err := e.DeleteBucket(ctx, "b"); err != nil {
		t.Fatal(err)
	}
}

// TestListVersionsPrefixDelimiter checks prefix, delimiter and markers of
// ListObjectVersions across keys.
func TestListVersionsPrefixDelimiter(t *testing.T) {
	e := openTest(t, t.TempDir())
	ctx := context.Background()
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "o"}); err != nil {
		t.Fatal(err)
	}
	if err := e.SetBucketVersioning(ctx, "b", store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"d/x", "d/y", "e", "e", "f", "g/z"} {
		if _, err := e.PutObject(ctx, "b", k, strings.NewReader(k), int64(len(k)), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.DeleteObjectVersion(ctx, "b", "f", ""); err != nil {
		t.Fatal(err)
	}
	res, err := e.ListObjectVersions(ctx, "b", store.ListVersionsOptions{Delimiter: "/"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range res.Versions {
		got = append(got, fmt.Sprintf("%s:%v:%v", v.Info.Key, v.IsLatest, v.Info.DeleteMarker))
	}
	want := "e:true:false e:false:false f:true:true f:false:false"
	if strings.Join(got, " ") != want || strings.Join(res.CommonPrefixes, " ") != "d/ g/" {
		t.Fatalf("listing = %v %v, want %s and d/ g/", got, res.CommonPrefixes, want)
	}
	res, err = e.ListObjectVersions(ctx, "b", store.ListVersionsOptions{Prefix: "e", KeyMarker: "e", VersionIDMarker: res.Versions[0].Info.VersionID})
	if err != nil || len(res.Versions) != 1 || res.Versions[0].IsLatest {
		t.Fatalf("resume in e = %+v, %v", res, err)
	}
	res, err = e.ListObjectVersions(ctx, "b", store.ListVersionsOptions{KeyMarker: "e"})
	if err != nil || len(res.Versions) != 3 || res.Versions[0].Info.Key != "f" {
		t.Fatalf("after e = %+v, %v", res, err)
	}
}
