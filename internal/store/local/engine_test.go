package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/storetest"
)

func testLogger(testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openTest(t *testing.T, dir string) *Engine {
	t.Helper()
	e, err := Open(context.Background(), dir, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Engine {
		return openTest(t, t.TempDir())
	})
}

// dataFiles lists the data files under objects/.
func dataFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, "objects"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTmpCleanedAtOpen(t *testing.T) {
	dir := t.TempDir()
	e := openTest(t, dir)
	e.Close()
	for _, name := range []string{"0f4c7e40-5ad1-4c5e-9d1c-2e7f5a1b9c3d", "junk"} {
		if err := os.WriteFile(filepath.Join(dir, "tmp", name), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp", "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	openTest(t, dir)
	ents, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("tmp holds %d entries after Open", len(ents))
	}
}

// TestSweep: data files no metadata references are removed at Open;
// referenced ones (objects and parts) stay.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openTest(t, dir)
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "o"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PutObject(ctx, "b", "k", strings.NewReader("hello"), 5, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	up, err := e.CreateMultipartUpload(ctx, "b", "m", store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.UploadPart(ctx, "b", "m", up.UploadID, 1, strings.NewReader("part"), 4, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	<-e.sweepDone
	if n := bodies(t, e, dir); n != 2 {
		t.Fatalf("%d data files, want 2", n)
	}
	e.Close()
	orphans := []string{"ab0c7e40-5ad1-4c5e-9d1c-2e7f5a1b9c3d", "000c7e40-5ad1-4c5e-9d1c-2e7f5a1b9c3d"}
	for _, id := range orphans {
		if err := os.WriteFile(filepath.Join(dir, "objects", id[:2], id), []byte("orphan"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e = openTest(t, dir)
	<-e.sweepDone
	if n := bodies(t, e, dir); n != 2 {
		t.Fatalf("%d data files after sweep, want 2", n)
	}
	for _, id := range orphans {
		if _, err := os.Stat(filepath.Join(dir, "objects", id[:2], id)); !os.IsNotExist(err) {
			t.Fatalf("orphan %s survived the sweep (%v)", id, err)
		}
	}
	if _, rc, err := e.GetObject(ctx, "b", "k", nil); err != nil {
		t.Fatalf("object lost by the sweep: %v", err)
	} else {
		rc.Close()
	}
	res, err := e.ListParts(ctx, "b", "m", up.UploadID, 0, 0)
	if err != nil || len(res.Parts) != 1 {
		t.Fatalf("part lost: %+v %v", res, err)
	}
}

// TestNoLeakedFiles: overwrites, deletes, aborts and completions unlink the
// data files they replace, without waiting for a sweep.
func TestNoLeakedFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openTest(t, dir)
	<-e.sweepDone
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "o"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := e.PutObject(ctx, "b", "k", strings.NewReader("v"), 1, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.PutObject(ctx, "b", "gone", strings.NewReader("v"), 1, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteObject(ctx, "b", "gone"); err != nil {
		t.Fatal(err)
	}
	up, _ := e.CreateMultipartUpload(ctx, "b", "m", store.PutOptions{})
	for i := 0; i < 3; i++ {
		if _, err := e.UploadPart(ctx, "b", "m", up.UploadID, 1, strings.NewReader("p"), 1, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ab, _ := e.CreateMultipartUpload(ctx, "b", "a", store.PutOptions{})
	if _, err := e.UploadPart(ctx, "b", "a", ab.UploadID, 1, strings.NewReader("p"), 1, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.AbortMultipartUpload(ctx, "b", "a", ab.UploadID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CompleteMultipartUpload(ctx, "b", "m", up.UploadID, []store.CompletePart{{Number: 1, ETag: "83878c91171338902e0fe0fb97a8c47a"}}); err != nil {
		t.Fatal(err)
	}
	if got := bodyIDs(t, e, dir); len(got) != 2 {
		t.Fatalf("data files %q, want 2 (k and m)", got)
	}
	for _, p := range []string{"index", "objects", "tmp"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClosed(t *testing.T) {
	e := openTest(t, t.TempDir())
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateBucket(context.Background(), store.BucketInfo{Name: "b"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("CreateBucket after Close: %v", err)
	}
	if _, err := e.PutObject(context.Background(), "b", "k", bytes.NewReader(nil), 0, store.PutOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("PutObject after Close: %v", err)
	}
}

// TestTwoEngines: engines share no state.
func TestTwoEngines(t *testing.T) {
	ctx := context.Background()
	a, b := openTest(t, t.TempDir()), openTest(t, t.TempDir())
	if err := a.CreateBucket(ctx, store.BucketInfo{Name: "x", Owner: "o"}); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateBucket(ctx, store.BucketInfo{Name: "x", Owner: "p"}); err != nil {
		t.Fatalf("second engine sees the first's bucket: %v", err)
	}
}

// TestConcurrentOverwriteNoLeak: racing puts of one key leave one data
// file and one reverse-index entry; the replaced files are unlinked.
func TestConcurrentOverwriteNoLeak(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openTest(t, dir)
	<-e.sweepDone
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				body := strings.Repeat("x", w*1000+i)
				if _, err := e.PutObject(ctx, "b", "k", strings.NewReader(body), int64(len(body)), store.PutOptions{}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got := bodyIDs(t, e, dir); len(got) != 1 {
		t.Fatalf("%d data files after racing overwrites, want 1", len(got))
	}
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: []byte(pfxFile), UpperBound: []byte(successor(pfxFile))})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	if n != 1 {
		t.Fatalf("%d reverse-index entries, want 1", n)
	}
}
