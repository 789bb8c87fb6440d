package blockfile_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/blockfile"
)

func TestReaderAtVerifies(t *testing.T) {
	data := make([]byte, 3*blockfile.BlockSize+77)
	for i := range data {
		data[i] = byte(i * 13)
	}
	p := filepath.Join(t.TempDir(), "f")
	f, _ := os.Create(p)
	w := blockfile.NewWriter(f, nil)
	w.Write(data)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	f, _ = os.OpenFile(p, os.O_RDWR, 0)
	defer f.Close()
	ra, err := blockfile.OpenReaderAt(f, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.NewSectionReader(ra, 0, int64(len(data))))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("clean read: %v", err)
	}
	if _, err := blockfile.OpenReaderAt(f, int64(len(data))+1); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("wrong size accepted: %v", err)
	}
	f.WriteAt([]byte{^data[2*blockfile.BlockSize+5]}, 2*blockfile.BlockSize+5)
	ra, _ = blockfile.OpenReaderAt(f, int64(len(data)))
	buf := make([]byte, 10)
	if _, err := ra.ReadAt(buf, 2*blockfile.BlockSize); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("damaged block read: %v", err)
	}
	if n, err := ra.ReadAt(buf, blockfile.BlockSize); err != nil || n != 10 || !bytes.Equal(buf, data[blockfile.BlockSize:][:10]) {
		t.Fatalf("undamaged block: %d %v", n, err)
	}
	r, err := blockfile.OpenReader(f, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(r)
	if !errors.Is(err, store.ErrCorrupt) || len(got) != 2*blockfile.BlockSize || !bytes.Equal(got, data[:len(got)]) {
		t.Fatalf("sequential: %d bytes, %v", len(got), err)
	}
}

// lendingFile is an *os.File that lends a 100,003-byte buffer
// (blockfile.Lender), an odd size so blocks straddle its refills.
type lendingFile struct {
	*os.File
	buf []byte
	n   int
}

func (l *lendingFile) Space() []byte { return l.buf[l.n:] }

func (l *lendingFile) Fill(n int) error {
	if l.n += n; l.n == len(l.buf) {
		return l.flush()
	}
	return nil
}

func (l *lendingFile) flush() error {
	_, err := l.File.Write(l.buf[:l.n])
	l.n = 0
	return err
}

func (l *lendingFile) Write(p []byte) (int, error) {
	if err := l.flush(); err != nil {
		return 0, err
	}
	return l.File.Write(p)
}

func (l *lendingFile) Sync() error {
	if err := l.flush(); err != nil {
		return err
	}
	return l.File.Sync()
}

// TestSpaceAndFillMixWithWrite writes one body through Space/Fill in
// reads of odd sizes, into a lending file and a plain one, with Writes
// in between, and reads every byte back through the block CRCs.
func TestSpaceAndFillMixWithWrite(t *testing.T) {
	data := make([]byte, 5*blockfile.BlockSize+12345)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	for _, lend := range []bool{true, false} {
		p := filepath.Join(t.TempDir(), "f")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		var dst blockfile.SyncWriter = f
		if lend {
			dst = &lendingFile{File: f, buf: make([]byte, 100_003)}
		}
		w := blockfile.NewWriter(dst, nil)
		rest, step := data, 0
		for len(rest) > 0 {
			step++
			if step%5 == 0 { // now and then a plain Write
				k := min(len(rest), 3000)
				w.Write(rest[:k])
				rest = rest[k:]
				continue
			}
			space := w.Space()
			k := min(len(rest), len(space), 1+(step*7919)%40000)
			copy(space, rest[:k])
			if err := w.Fill(k); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		r, err := blockfile.Open(p, int64(len(data)))
		if err != nil {
			t.Fatalf("lend=%v: %v", lend, err)
		}
		got, err := io.ReadAll(r.NewReader(0, int64(len(data)), nil, nil))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("lend=%v: read back %d bytes (%v), equal %v", lend, len(got), err, bytes.Equal(got, data))
		}
	}
}
