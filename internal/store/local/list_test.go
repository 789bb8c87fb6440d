package local

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/insitu-cloud/insitu/internal/store"
)

// insertKeys writes object records for keys straight into the index (no
// data files, no fsync): listing only reads the index.
func insertKeys(t *testing.T, e *Engine, bucket string, n int, key func(i int) string) {
	t.Helper()
	val, err := json.Marshal(&objectRecord{Size: 1, ETag: "e", Modified: time.Now().UTC(), File: "00000000-0000-0000-0000-000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.db.NewBatch()
	for i := 0; i < n; i++ {
		if err := b.Set(objectKey(bucket, key(i)), val, nil); err != nil {
			t.Fatal(err)
		}
		if b.Len() > 8<<20 || i == n-1 {
			if err := b.Commit(pebble.NoSync); err != nil {
				t.Fatal(err)
			}
			b.Close()
			b = e.db.NewBatch()
		}
	}
	b.Close()
}

// TestListLarge pages through a bucket of many keys: every key exactly
// once, in order, each page bounded, and each page costs a bounded number
// of index steps; a delimiter rolls a huge prefix up with one seek. It uses
// 200k keys, 50k under the race detector, 20k with -short, and 1M with
// INSITU_LIST_1M=1.
func TestListLarge(t *testing.T) {
	n := 200_000
	if os.Getenv("INSITU_LIST_1M") != "" {
		n = 1_000_000
	} else if testing.Short() {
		n = 20_000
	} else if raceEnabled {
		n = 50_000
	}
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "big"}); err != nil {
		t.Fatal(err)
	}
	// Half flat keys, half in 100 directories, plus a few keys around.
	half := n / 2
	key := func(i int) string {
		if i < half {
			return fmt.Sprintf("flat/%08d", i)
		}
		j := i - half
		return fmt.Sprintf("deep/%03d/%08d", j%100, j)
	}
	start := time.Now()
	insertKeys(t, e, "big", n, key)
	for _, k := range []string{"a", "m", "z"} {
		insertKeys(t, e, "big", 1, func(int) string { return k })
	}
	t.Logf("inserted %d keys in %v", n+3, time.Since(start))

	// Full paging without delimiter.
	start = time.Now()
	after, total, pages := "", 0, 0
	prev := ""
	for {
		e.listVisited.Store(0)
		res, err := e.ListObjects(ctx, "big", store.ListOptions{After: after})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(res.Objects) > maxListKeys || len(res.CommonPrefixes) != 0 {
			t.Fatalf("page of %d objects", len(res.Objects))
		}
		if v := e.listVisited.Load(); v > int64(maxListKeys)+2 {
			t.Fatalf("page visited %d index entries", v)
		}
		for _, o := range res.Objects {
			if o.Key <= prev {
				t.Fatalf("key %q after %q: out of order or repeated", o.Key, prev)
			}
			prev = o.Key
		}
		total += len(res.Objects)
		if !res.IsTruncated {
			break
		}
		if len(res.Objects) != maxListKeys || res.NextAfter != prev {
			t.Fatalf("truncated page of %d, next %q, last %q", len(res.Objects), res.NextAfter, prev)
		}
		after = res.NextAfter
	}
	if total != n+3 {
		t.Fatalf("listed %d keys, want %d", total, n+3)
	}
	t.Logf("listed %d keys in %d pages in %v", total, pages, time.Since(start))

	// The root with a delimiter: the two big prefixes cost a seek each.
	e.listVisited.Store(0)
	res, err := e.ListObjects(ctx, "big", store.ListOptions{Delimiter: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(objectKeys(res), res.CommonPrefixes); got != "[a m z] [deep/ flat/]" || res.IsTruncated {
		t.Fatalf("root listing = %s (truncated %v)", got, res.IsTruncated)
	}
	if v := e.listVisited.Load(); v > 10 {
		t.Fatalf("root listing visited %d index entries, want a handful", v)
	}
	// 100 directories of ~n/200 keys each, two pages of 60.
	e.listVisited.Store(0)
	res, err = e.ListObjects(ctx, "big", store.ListOptions{Prefix: "deep/", Delimiter: "/", MaxKeys: 60})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.CommonPrefixes) != 60 || !res.IsTruncated || res.NextAfter != "deep/059/" || res.CommonPrefixes[0] != "deep/000/" {
		t.Fatalf("deep page 1: %d prefixes, next %q", len(res.CommonPrefixes), res.NextAfter)
	}
	res, err = e.ListObjects(ctx, "big", store.ListOptions{Prefix: "deep/", Delimiter: "/", MaxKeys: 60, After: res.NextAfter})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.CommonPrefixes) != 40 || res.IsTruncated || res.CommonPrefixes[0] != "deep/060/" {
		t.Fatalf("deep page 2: %d prefixes, first %q", len(res.CommonPrefixes), res.CommonPrefixes[0])
	}
	if v := e.listVisited.Load(); v > 2*(100+5) {
		t.Fatalf("listing 100 prefixes visited %d index entries", v)
	}
}

func objectKeys(res store.ListResult) []string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, o.Key)
	}
	return out
}
