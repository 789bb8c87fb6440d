package local

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// BenchmarkPutSmallParallel measures durable 4 KiB puts from many
// goroutines (Pebble groups their syncs).
func BenchmarkPutSmallParallel(b *testing.B) {
	ctx := context.Background()
	e := benchEngine(b)
	data := bytes.Repeat([]byte("x"), 4096)
	var n atomic.Int64
	b.SetBytes(int64(len(data)))
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprint("k", n.Add(1))
			if _, err := e.PutObject(ctx, "b", key, bytes.NewReader(data), int64(len(data)), store.PutOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGet measures reading (and verifying) a 1 MiB object.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	e := benchEngine(b)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	if _, err := e.PutObject(ctx, "b", "k", bytes.NewReader(data), int64(len(data)), store.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		_, rc, err := e.GetObject(ctx, "b", "k", nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

// BenchmarkSmallObject compares a body kept inline with one in a data
// file (InlineMax -1): durable PUTs of new keys from one goroutine, and
// GETs of one key. Sizes 4 KiB and 64 KiB; "inline" uses InlineMax 128 KiB
// so both sizes are inline.
func BenchmarkSmallObject(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10} {
		for _, mode := range []struct {
			name string
			max  int
		}{{"file", -1}, {"inline", 128 << 10}} {
			b.Run(fmt.Sprintf("PUT/%dKiB/%s", size>>10, mode.name), func(b *testing.B) { benchSmallPut(b, size, mode.max) })
			b.Run(fmt.Sprintf("GET/%dKiB/%s", size>>10, mode.name), func(b *testing.B) { benchSmallGet(b, size, mode.max) })
		}
	}
}

func openBench(b *testing.B, max int) *Engine {
	e, err := OpenWith(context.Background(), b.TempDir(), Options{Logger: testLogger(nil), InlineMax: max})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	if err := e.CreateBucket(context.Background(), store.BucketInfo{Name: "b"}); err != nil {
		b.Fatal(err)
	}
	return e
}

func benchSmallPut(b *testing.B, size, max int) {
	ctx := context.Background()
	e := openBench(b, max)
	data := pattern(size)
	b.SetBytes(int64(size))
	i := 0
	for b.Loop() {
		i++
		if _, err := e.PutObject(ctx, "b", fmt.Sprint("k", i), bytes.NewReader(data), int64(size), store.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSmallGet(b *testing.B, size, max int) {
	ctx := context.Background()
	e := openBench(b, max)
	data := pattern(size)
	if _, err := e.PutObject(ctx, "b", "k", bytes.NewReader(data), int64(size), store.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		_, rc, err := e.GetObject(ctx, "b", "k", nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

// BenchmarkHead is HeadObject of a small object in a bucket that never
// had versioning (the lookup that decides whether to report version "null").
func BenchmarkHead(b *testing.B) {
	ctx := context.Background()
	e := benchEngine(b)
	if _, err := e.PutObject(ctx, "b", "k", bytes.NewReader([]byte("x")), 1, store.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.HeadObject(ctx, "b", "k"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutLarge measures one 16 MiB put at a time (an S3 PUT at one
// connection): reading, hashing and the O_DIRECT writes of the data file,
// then its sync. The body comes from memory in 64 KiB reads, as from a
// socket.
func BenchmarkPutLarge(b *testing.B) {
	ctx := context.Background()
	e := benchEngine(b)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := range b.N {
		body := struct{ io.Reader }{io.LimitReader(bytes.NewReader(data), int64(len(data)))}
		if _, err := e.PutObject(ctx, "b", fmt.Sprint("k", i%8), &chunky{body}, int64(len(data)), store.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// chunky reads at most 64 KiB at a time.
type chunky struct{ r io.Reader }

func (c *chunky) Read(p []byte) (int, error) {
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	return c.r.Read(p)
}

// benchEngine opens an engine in a temporary directory, closed when b
// ends, holding an empty bucket "b".
func benchEngine(b *testing.B) *Engine {
	ctx := context.Background()
	e, err := Open(ctx, b.TempDir(), testLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b"}); err != nil {
		b.Fatal(err)
	}
	return e
}
