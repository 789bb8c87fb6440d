package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store/blockfile"

	"github.com/insitu-cloud/insitu/internal/store"
)

// TestCorruption flips bytes of a data file on disk: reads covering the
// damaged block fail with ErrCorrupt and return no byte of it; reads that
// miss it still work.
func TestCorruption(t *testing.T) {
	const size = 3*blockSize + 3000 // blocks 0..3, the last one short
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	blocks := int64((size + blockSize - 1) / blockSize)
	type read struct {
		rng     *store.Range
		corrupt bool
	}
	whole := func(c bool) read { return read{nil, c} }
	rg := func(s, e int64, c bool) read { return read{&store.Range{Start: s, End: e}, c} }
	cases := []struct {
		name    string
		offset  int64 // byte of the file to flip
		openErr bool  // GetObject itself fails
		reads   []read
	}{
		{"data block 1", blockSize + 4464, false, []read{
			whole(true),
			rg(blockSize+4464, blockSize+4464, true),
			rg(blockSize-10, blockSize+10, true), // straddles blocks 0 and 1
			rg(100, 2*blockSize+5, true),
			{&store.Range{Suffix: 3 * blockSize}, true},
			rg(0, blockSize-1, false), // block 0 only
			rg(2*blockSize, -1, false),
			{&store.Range{Suffix: 10}, false},
		}},
		{"first byte", 0, false, []read{whole(true), rg(0, 0, true), rg(blockSize, -1, false)}},
		{"last data byte", size - 1, false, []read{whole(true), {&store.Range{Suffix: 1}, true}, rg(0, 3*blockSize-1, false)}},
		{"crc of block 2", size + 4*2, false, []read{whole(true), rg(2*blockSize+1, 2*blockSize+1, true), rg(0, 100, false)}},
		{"trailer magic", size + 4*blocks, true, nil},
		{"trailer length", size + 4*blocks + 12, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e, path := putDataFile(t, data)
			flipByte(t, path, tc.offset)
			if tc.openErr {
				_, _, err := e.GetObject(ctx, "b", "k", nil)
				if !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("GetObject = %v, want ErrCorrupt", err)
				}
				return
			}
			for _, r := range tc.reads {
				_, rc, err := e.GetObject(ctx, "b", "k", r.rng)
				if err != nil {
					t.Fatalf("GetObject(%+v): %v", r.rng, err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				off, n := int64(0), int64(size)
				if r.rng != nil {
					off, n, _ = r.rng.Resolve(size)
				}
				want := data[off : off+n]
				// Whatever was returned must be a correct prefix.
				if !bytes.HasPrefix(want, got) {
					t.Fatalf("range %+v returned wrong bytes", r.rng)
				}
				if r.corrupt {
					if !errors.Is(err, store.ErrCorrupt) {
						t.Fatalf("range %+v: err %v, want ErrCorrupt", r.rng, err)
					}
					// No byte of the damaged block may have been returned.
					bad := tc.offset / blockSize
					if tc.offset >= size { // a crc entry
						bad = (tc.offset - size) / 4
					}
					if end := off + int64(len(got)); len(got) > 0 && end > bad*blockSize {
						t.Fatalf("range %+v returned bytes up to %d, past the start of damaged block %d", r.rng, end, bad)
					}
				} else if err != nil || int64(len(got)) != n {
					t.Fatalf("range %+v away from the damage: %d bytes, err %v", r.rng, len(got), err)
				}
			}
		})
	}
}

// TestCorruptTruncated: a truncated file is corrupt, not short.
func TestCorruptTruncated(t *testing.T) {
	ctx := context.Background()
	e, path := putDataFile(t, make([]byte, 100_000))
	if err := os.Truncate(path, 50_000); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.GetObject(ctx, "b", "k", nil); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("GetObject of truncated file = %v, want ErrCorrupt", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.GetObject(ctx, "b", "k", nil); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("GetObject of missing file = %v, want ErrCorrupt", err)
	}
}

// putDataFile puts data as b/k in a fresh engine and returns the engine
// and the object's data file.
func putDataFile(t *testing.T, data []byte) (*Engine, string) {
	t.Helper()
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	if err := e.CreateBucket(ctx, store.BucketInfo{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PutObject(ctx, "b", "k", bytes.NewReader(data), int64(len(data)), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	rec, err := e.lookupObject("b", "k")
	if err != nil {
		t.Fatal(err)
	}
	return e, e.dataPath(rec.File)
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestBlockFileRoundTrip writes many sizes through blockWriter with odd
// write patterns and reads every kind of range back.
func TestBlockFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, blockSize - 1, blockSize, blockSize + 1, 5*blockSize + 333} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i ^ (i >> 8))
		}
		path := dir + "/f"
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		bw := newBlockWriter(f, make([]byte, blockSize))
		for p, step := data, 1; len(p) > 0; step = step*3 + 1 {
			n := min(len(p), step%(2*blockSize+7))
			if _, err := bw.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		if err := bw.Finish(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		for _, r := range [][2]int64{{0, int64(size)}, {1, int64(size) - 1}, {int64(size) / 2, int64(size) / 3}, {int64(size) - 1, 1}} {
			if r[0] < 0 || r[1] < 0 || r[0]+r[1] > int64(size) {
				continue
			}
			bf, err := blockfile.Open(path, int64(size))
			if err != nil {
				t.Fatalf("size %d: open: %v", size, err)
			}
			br := newBlockReader(bf, r[0], r[1], nil, nil)
			var got []byte
			if r[0]%2 == 0 {
				var buf bytes.Buffer
				_, err = br.WriteTo(&buf)
				got = buf.Bytes()
			} else {
				got, err = io.ReadAll(br)
			}
			br.Close()
			if err != nil || !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
				t.Fatalf("size %d range %v: %d bytes, err %v", size, r, len(got), err)
			}
		}
	}
}
