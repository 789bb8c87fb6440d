package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"

	"github.com/insitu-cloud/insitu/internal/store"
)

// inlineIDs lists the ids of the bodies e keeps inline (n/ keys).
func inlineIDs(t testing.TB, e *Engine) []string {
	t.Helper()
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: []byte(pfxInline), UpperBound: []byte(successor(pfxInline))})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for it.First(); it.Valid(); it.Next() {
		ids = append(ids, strings.TrimPrefix(string(it.Key()), pfxInline))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// bodyIDs lists the ids of every body e holds: data files under dir's
// objects/ and inline bodies, sorted.
func bodyIDs(t *testing.T, e *Engine, dir string) []string {
	t.Helper()
	var ids []string
	for _, p := range dataFiles(t, dir) {
		ids = append(ids, filepath.Base(p))
	}
	ids = append(ids, inlineIDs(t, e)...)
	slices.Sort(ids)
	return ids
}

// bodies counts the bodies e holds (data files and inline).
func bodies(t *testing.T, e *Engine, dir string) int { return len(bodyIDs(t, e, dir)) }

// openInlineTest opens an engine keeping bodies of at most max bytes
// inline, with bucket "b".
func openInlineTest(t *testing.T, dir string, max int) *Engine {
	t.Helper()
	e, err := OpenWith(context.Background(), dir, Options{Logger: testLogger(t), InlineMax: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	<-e.sweepDone
	if err := e.CreateBucket(context.Background(), store.BucketInfo{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// onlyReader hides io.WriterTo and Len so a body's size is unknown.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func getAll(t *testing.T, e *Engine, key string, rng *store.Range) []byte {
	t.Helper()
	_, rc, err := e.GetObject(context.Background(), "b", key, rng)
	if err != nil {
		t.Fatalf("GetObject(%s): %v", key, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return got
}

// TestInlineThreshold: a body at the threshold is kept in the index, one
// byte more goes to a data file, also when the size is not declared (the
// bytes read ahead are not lost); reads and ranges return the same bytes
// either way, and OpenFile sends readers of inline bodies to GetObject.
func TestInlineThreshold(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const max = 70_000 // over one 64 KiB block, so images have two
	e := openInlineTest(t, dir, max)
	cases := []struct {
		key    string
		n      int
		sized  bool
		inline bool
	}{
		{"empty", 0, true, true}, {"at", max, true, true}, {"over", max + 1, true, false},
		{"unsized-at", max, false, true}, {"unsized-over", max + 1, false, false},
		{"unsized-big", 3*max + 5, false, false}, {"small", 4096, false, true},
	}
	for _, c := range cases {
		body := pattern(c.n)
		var r io.Reader = onlyReader{bytes.NewReader(body)}
		size := int64(-1)
		if c.sized {
			size = int64(c.n)
		}
		if _, err := e.PutObject(ctx, "b", c.key, r, size, store.PutOptions{}); err != nil {
			t.Fatalf("%s: %v", c.key, err)
		}
		files, inline := len(dataFiles(t, dir)), len(inlineIDs(t, e))
		if got := getAll(t, e, c.key, nil); !bytes.Equal(got, body) {
			t.Fatalf("%s: got %d bytes, want %d", c.key, len(got), len(body))
		}
		if c.n > 10 {
			rng := &store.Range{Start: 3, End: int64(c.n - 2)}
			if got := getAll(t, e, c.key, rng); !bytes.Equal(got, body[3:c.n-1]) {
				t.Fatalf("%s: range: got %d bytes", c.key, len(got))
			}
		}
		_, f, err := e.OpenFile(ctx, "b", c.key)
		if c.inline != errors.Is(err, store.ErrNotLocal) {
			t.Fatalf("%s: OpenFile = %v, inline %v", c.key, err, c.inline)
		}
		if f != nil {
			f.Close()
		}
		checkOpenLocal(t, e, c.key, body, c.inline)
		if err := e.DeleteObject(ctx, "b", c.key); err != nil {
			t.Fatal(err)
		}
		if want := map[bool][2]int{true: {0, 1}, false: {1, 0}}[c.inline]; files != want[0] || inline != want[1] {
			t.Fatalf("%s: %d files, %d inline, want %v", c.key, files, inline, want)
		}
		if n := bodies(t, e, dir); n != 0 {
			t.Fatalf("%s: %d bodies left after delete", c.key, n)
		}
	}
}

// TestInlineBadBody: an inline PUT checks sizes and digests like a file's
// and leaves nothing behind when they fail.
func TestInlineBadBody(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openInlineTest(t, dir, 1024)
	if _, err := e.PutObject(ctx, "b", "k", strings.NewReader("short"), 9, store.PutOptions{}); !errors.Is(err, store.ErrIncompleteBody) {
		t.Fatalf("short body: %v", err)
	}
	if _, err := e.PutObject(ctx, "b", "k", strings.NewReader("too long"), 3, store.PutOptions{}); !errors.Is(err, store.ErrIncompleteBody) {
		t.Fatalf("long body: %v", err)
	}
	if _, err := e.PutObject(ctx, "b", "k", strings.NewReader("x"), 1, store.PutOptions{MD5: make([]byte, 16)}); !errors.Is(err, store.ErrBadDigest) {
		t.Fatalf("bad md5: %v", err)
	}
	if n := bodies(t, e, dir); n != 0 {
		t.Fatalf("%d bodies after failed puts", n)
	}
}

// TestInlineCorrupt: a flipped byte of an inline body is reported as
// store.ErrCorrupt, like a data file's.
func TestInlineCorrupt(t *testing.T) {
	ctx := context.Background()
	e := openInlineTest(t, t.TempDir(), DefaultInlineMax)
	body := pattern(5000)
	if _, err := e.PutObject(ctx, "b", "k", bytes.NewReader(body), int64(len(body)), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	ids := inlineIDs(t, e)
	if len(ids) != 1 {
		t.Fatalf("inline ids %v", ids)
	}
	v, closer, err := e.db.Get(inlineKey(ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	img := bytes.Clone(v)
	closer.Close()
	img[1234] ^= 1
	if err := e.db.Set(inlineKey(ids[0]), img, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	_, rc, err := e.GetObject(ctx, "b", "k", nil)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("read of a corrupt inline body: %v", err)
	}
}

// TestInlineVersions: versions of a key move between inline and file
// bodies; each keeps its own bytes, and removing a version frees its body.
func TestInlineVersions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openInlineTest(t, dir, 1000)
	if err := e.SetBucketVersioning(ctx, "b", store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	sizes := []int{10, 5000, 999, 1001, 1}
	var ids []string
	for _, n := range sizes {
		oi, err := e.PutObject(ctx, "b", "k", bytes.NewReader(pattern(n)), int64(n), store.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, oi.VersionID)
	}
	if f, in := len(dataFiles(t, dir)), len(inlineIDs(t, e)); f != 2 || in != 3 {
		t.Fatalf("%d files, %d inline, want 2 and 3", f, in)
	}
	for i, id := range ids {
		_, rc, err := e.GetObjectVersion(ctx, "b", "k", id, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, pattern(sizes[i])) {
			t.Fatalf("version %d: %d bytes, %v", i, len(got), err)
		}
	}
	for _, id := range ids {
		if _, err := e.DeleteObjectVersion(ctx, "b", "k", id); err != nil {
			t.Fatal(err)
		}
	}
	if n := bodies(t, e, dir); n != 0 {
		t.Fatalf("%d bodies after removing every version", n)
	}
}

// checkOpenLocal: OpenLocal gives an inline body's bytes as a reader and
// a larger one's data file, never both.
func checkOpenLocal(t *testing.T, e *Engine, key string, body []byte, inline bool) {
	t.Helper()
	info, f, rc, err := e.OpenLocal(context.Background(), "b", key)
	if err != nil || info.Size != int64(len(body)) || (f != nil) == (rc != nil) || inline != (rc != nil) {
		t.Fatalf("%s: OpenLocal = size %d, file %v, reader %v, %v; inline %v", key, info.Size, f != nil, rc != nil, err, inline)
	}
	if f != nil {
		f.Close()
		return
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("%s: OpenLocal read %d bytes, %v; want %d", key, len(got), err, len(body))
	}
}
