package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// testConcurrentPutsOneKey: racing puts of one key leave exactly one
// complete winner whose bytes match its ETag and one of the puts.
func testConcurrentPutsOneKey(t *testing.T, e store.Engine) {
	ctx := context.Background()
	mkBucket(t, e, "b")
	const writers, rounds = 8, 3
	var mu sync.Mutex
	etags := map[string]bool{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				size := 1000 + (w*rounds+r)*37_000 // up to ~8 blocks
				data := randBytes(uint64(100+w*rounds+r), size)
				oi, err := e.PutObject(ctx, "b", "contended", bytes.NewReader(data), int64(size), store.PutOptions{})
				if err != nil {
					t.Errorf("PutObject: %v", err)
					return
				}
				mu.Lock()
				etags[oi.ETag] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	oi, got := get(t, e, "b", "contended", nil)
	if md5hex(got) != oi.ETag || int64(len(got)) != oi.Size {
		t.Fatalf("winner is torn: %d bytes md5 %s, info says %d bytes etag %s", len(got), md5hex(got), oi.Size, oi.ETag)
	}
	if !etags[oi.ETag] {
		t.Fatalf("winner etag %s is none of the puts'", oi.ETag)
	}
	res, err := e.ListObjects(ctx, "b", store.ListOptions{})
	if err != nil || len(res.Objects) != 1 {
		t.Fatalf("listing after racing puts: %+v %v", res, err)
	}
}
