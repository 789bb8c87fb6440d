package blockfile

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestReaderCountsItsStream: a Reader counted in Streams counts itself
// from its first block of a long range until Close; the first chooses
// WILLNEED read-ahead (alone), the second SEQUENTIAL; a range of one
// block, and a reader closed before reading, are never counted.
func TestReaderCountsItsStream(t *testing.T) {
	data := make([]byte, 3*BlockSize+10)
	for i := range data {
		data[i] = byte(i * 5)
	}
	p := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f, nil)
	w.Write(data)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var s Streams
	open := func(off, n int64) *Reader {
		bf, err := Open(p, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		r := bf.NewReader(off, n, nil, nil)
		r.CountIn(&s)
		return r
	}
	first, second, short, unread := open(0, int64(len(data))), open(5, 2*BlockSize), open(7, BlockSize-7), open(0, int64(len(data)))
	heads := make([][]byte, 3)
	for i, r := range []*Reader{first, second, short} {
		heads[i] = make([]byte, 10)
		if _, err := io.ReadFull(r, heads[i]); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.n.Load(); got != 2 {
		t.Fatalf("%d streams counted, want 2 (the short range is not one)", got)
	}
	if first.sequential || first.ahead == 0 {
		t.Fatalf("alone: sequential %v, asked up to %d, want WILLNEED", first.sequential, first.ahead)
	}
	if !second.sequential || second.ahead != 0 {
		t.Fatalf("second: sequential %v, asked up to %d, want SEQUENTIAL", second.sequential, second.ahead)
	}
	rest, err := io.ReadAll(second)
	if err != nil || string(append(heads[1], rest...)) != string(data[5:5+2*BlockSize]) {
		t.Fatalf("second reader: %d bytes, %v", len(rest), err)
	}
	for _, r := range []*Reader{first, second, short, unread, first} {
		r.Close()
	}
	if got := s.n.Load(); got != 0 {
		t.Fatalf("%d streams counted after every Close, want 0", got)
	}
}
