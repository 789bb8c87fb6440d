package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// TestColdRead reads objects whose data file is not in the page cache
// (written with O_DIRECT, then evicted before every read), as the first
// GET after a PUT does: the whole object, ranges that start and end off
// the 4 KiB and block boundaries, and, once a byte of block 40 is
// flipped, ErrCorrupt with no byte of that block, while ranges that miss
// it still read.
func TestColdRead(t *testing.T) {
	ctx := context.Background()
	const size = 5<<20 + 12345 // 81 blocks, the last one short
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*31 + i>>16)
	}
	e, path := putDataFile(t, data)
	reads := []*store.Range{
		nil,
		{Start: 4097, End: 3<<20 + 5},
		{Start: blockSize - 1, End: blockSize},
		{Start: 1, End: size - 2},
		{Suffix: 70000},
		{Start: size - 1, End: -1},
	}
	for _, rng := range reads {
		evict(t, path)
		got, err := getRange(ctx, e, rng)
		off, n := span(rng, size)
		if err != nil || !bytes.Equal(got, data[off:off+n]) {
			t.Fatalf("cold read of %+v: %d bytes, %v", rng, len(got), err)
		}
	}

	const bad = 40 * blockSize
	flipByte(t, path, bad+4444)
	for _, c := range []struct {
		rng     *store.Range
		corrupt bool
	}{
		{nil, true},
		{&store.Range{Start: 4097, End: bad + 4444}, true},
		{&store.Range{Start: bad + 4444, End: bad + 4444}, true},
		{&store.Range{Start: 4097, End: bad - 1}, false},
		{&store.Range{Start: bad + blockSize, End: -1}, false},
	} {
		evict(t, path)
		got, err := getRange(ctx, e, c.rng)
		off, n := span(c.rng, size)
		if !bytes.HasPrefix(data[off:off+n], got) {
			t.Fatalf("cold read of %+v after the damage returned wrong bytes", c.rng)
		}
		if !c.corrupt {
			if err != nil || int64(len(got)) != n {
				t.Fatalf("cold read of %+v away from the damage: %d bytes, %v", c.rng, len(got), err)
			}
			continue
		}
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("cold read of %+v: %v, want ErrCorrupt", c.rng, err)
		}
		if len(got) > 0 && off+int64(len(got)) > bad {
			t.Fatalf("cold read of %+v returned bytes up to %d, past the damaged block at %d", c.rng, off+int64(len(got)), bad)
		}
	}
}

// span is the offset and length rng (nil: all) selects of size bytes.
func span(rng *store.Range, size int64) (int64, int64) {
	if rng == nil {
		return 0, size
	}
	off, n, _ := rng.Resolve(size)
	return off, n
}

// getRange reads rng of b/k (nil: all of it) through GetObject.
func getRange(ctx context.Context, e *Engine, rng *store.Range) ([]byte, error) {
	_, rc, err := e.GetObject(ctx, "b", "k", rng)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// evict syncs path and drops it from the page cache, checking with
// mincore that none of it stayed; a filesystem that keeps it (tmpfs)
// skips the test.
func evict(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	if err := unix.Fdatasync(fd); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if n, _ := testtool.ResidentPages(t, f); n > 0 {
		t.Skipf("%d pages of %s stay in the page cache after FADV_DONTNEED", n, path)
	}
}
