package local

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"runtime"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// patternReader yields n pseudo-random bytes without holding them.
type patternReader struct {
	n, off int64
	x      uint64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		p.x = p.x*6364136223846793005 + 1442695040888963407
		b[i] = byte(p.x >> 56)
	}
	p.off += int64(len(b))
	return len(b), nil
}

// TestStreamingBoundedMemory: putting and getting a large object allocates
// a small fraction of its size.
func TestStreamingBoundedMemory(t *testing.T) {
	size := int64(128 << 20)
	if testing.Short() || raceEnabled {
		size = 32 << 20
	}
	const budget = 8 << 20
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	<-e.sweepDone
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	allocated := func(f func()) uint64 {
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		f()
		runtime.ReadMemStats(&b)
		return b.TotalAlloc - a.TotalAlloc
	}
	var oi store.ObjectInfo
	if n := allocated(func() {
		var err error
		oi, err = e.PutObject(ctx, "b", "big", &patternReader{n: size}, size, store.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}); n > budget {
		t.Fatalf("PutObject of %d MiB allocated %d bytes", size>>20, n)
	}
	for _, rng := range []*store.Range{nil, {Start: 12345, End: size - 9999}} {
		if n := allocated(func() {
			_, rc, err := e.GetObject(ctx, "b", "big", rng)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			h := md5.New()
			if _, err := io.Copy(h, rc); err != nil {
				t.Fatal(err)
			}
			if rng == nil && hex.EncodeToString(h.Sum(nil)) != oi.ETag {
				t.Fatalf("read back md5 %x, etag %s", h.Sum(nil), oi.ETag)
			}
		}); n > budget {
			t.Fatalf("GetObject(%v) of %d MiB allocated %d bytes", rng, size>>20, n)
		}
	}
}
