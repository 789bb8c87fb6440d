package local

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// TestPutCacheModes: a data file written by a plain put (CacheWrite) is in
// the page cache once the put returns, so the GET that follows reads it
// from memory; one written with CacheNone is not (O_DIRECT); one written
// with CacheReadBack is not copied in but read back by the device soon
// after (the read-back is asynchronous: the test waits up to 5 s for it).
// Where the filesystem takes no O_DIRECT (tmpfs keeps everything in
// memory) only the CacheWrite case is checked.
func TestPutCacheModes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openTest(t, dir)
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("cached?"), 1<<20) // 7 MiB: 7 direct chunks
	for _, c := range []struct {
		key  string
		mode store.CacheMode
	}{{"write", store.CacheWrite}, {"none", store.CacheNone}, {"readback", store.CacheReadBack}} {
		opts := store.PutOptions{Cache: c.mode}
		if _, err := e.PutObject(ctx, "b", c.key, bytes.NewReader(data), int64(len(data)), opts); err != nil {
			t.Fatal(err)
		}
		rec, err := e.lookupObject("b", c.key)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(e.dataPath(rec.File))
		if err != nil {
			t.Fatal(err)
		}
		n, pages := testtool.ResidentPages(t, f)
		if c.mode == store.CacheReadBack {
			for end := time.Now().Add(5 * time.Second); n < pages/4 && time.Now().Before(end); {
				time.Sleep(20 * time.Millisecond)
				n, _ = testtool.ResidentPages(t, f)
			}
		}
		f.Close()
		t.Logf("%s: %d of %d pages in the page cache", c.key, n, pages)
		switch {
		case c.mode == store.CacheWrite && n < pages*9/10:
			t.Fatalf("a plain put left %d of %d pages cached, want (nearly) all", n, pages)
		case c.mode != store.CacheWrite && testtool.IsTmpfs(t, dir):
			t.Logf("%s is tmpfs: its files are always in memory", dir)
		case c.mode == store.CacheNone && n > pages/10:
			t.Fatalf("a CacheNone put left %d of %d pages cached, want (nearly) none", n, pages)
		case c.mode == store.CacheReadBack && n < pages/4:
			t.Fatalf("a CacheReadBack put has %d of %d pages cached after 5 s, want them read back", n, pages)
		}
	}
}
