package local

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// TestDirectFileKeepsEveryByte writes bodies of awkward sizes (empty,
// below one alignment unit, across several chunks with an unaligned
// tail) in uneven pieces and through io.Copy, syncs them and reads them
// back; a file closed without Sync still holds its bytes.
func TestDirectFileKeepsEveryByte(t *testing.T) {
	o := newOSFS()
	r := rand.New(rand.NewPCG(3, 4))
	dir := t.TempDir()
	for i, size := range []int{0, 100, directAlign, 3*directChunk + 12345, 2 * directChunk} {
		body := make([]byte, size)
		for j := range body {
			body[j] = byte(r.Uint32())
		}
		name := filepath.Join(dir, "data", string(rune('a'+i)))
		os.MkdirAll(filepath.Dir(name), 0o755)
		wf, err := o.Create(name, store.CacheNone)
		if err != nil {
			t.Fatal(err)
		}
		d, direct := wf.(*directFile)
		if !direct {
			t.Logf("%s: no O_DIRECT on this filesystem; checking the buffered file", dir)
		}
		if _, ok := wf.(io.ReaderFrom); ok {
			t.Fatal("the data file offers ReadFrom, which would write around its buffer")
		}
		head := body[:size/2]
		for len(head) > 0 {
			n := min(len(head), 1+r.IntN(300<<10))
			if _, err := wf.Write(head[:n]); err != nil {
				t.Fatal(err)
			}
			head = head[n:]
		}
		if _, err := io.Copy(wf, bytes.NewReader(body[size/2:])); err != nil {
			t.Fatal(err)
		}
		if direct && size >= 2*directChunk && !d.direct {
			t.Fatalf("size %d: O_DIRECT cleared before the tail", size)
		}
		closeAndCompare(t, wf, name, body, i%2 == 0)
	}
}

// TestDirectFileFallsBackToBuffered: a write the filesystem refuses
// directly (here: from an unaligned buffer) is made through the page
// cache, and the file stays buffered.
func TestDirectFileFallsBackToBuffered(t *testing.T) {
	o := newOSFS()
	name := filepath.Join(t.TempDir(), "data")
	wf, err := o.Create(name, store.CacheNone)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := wf.(*directFile)
	if !ok {
		t.Skip("no O_DIRECT on this filesystem")
	}
	body := bytes.Repeat([]byte("x"), directAlign+1)
	if err := d.writeOut(body[1:]); err != nil { // misaligned address
		t.Fatal(err)
	}
	if d.direct {
		t.Fatal("O_DIRECT still set after a refused write")
	}
	if err := wf.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(name); !bytes.Equal(got, body[1:]) {
		t.Fatalf("read back %d bytes, want %d", len(got), directAlign)
	}
}

// At most maxDirectFiles files are written with O_DIRECT at once: the
// next is buffered, and closing one (once, however often Close is
// called) lets a new one be direct again.
func TestDirectFilesAreBounded(t *testing.T) {
	o := newOSFS()
	dir := t.TempDir()
	var open []WritableFile
	for i := 0; i <= maxDirectFiles; i++ {
		wf, err := o.Create(filepath.Join(dir, fmt.Sprint(i)), store.CacheNone)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, wf)
	}
	if _, ok := open[0].(*directFile); !ok {
		t.Skip("no O_DIRECT on this filesystem")
	}
	if _, ok := open[maxDirectFiles-1].(*directFile); !ok {
		t.Fatalf("file %d of %d is not direct", maxDirectFiles, maxDirectFiles)
	}
	if _, ok := open[maxDirectFiles].(*writebackFile); !ok {
		t.Fatalf("file %d is %T, want a buffered file past the bound", maxDirectFiles+1, open[maxDirectFiles])
	}
	if err := open[0].Close(); err != nil {
		t.Fatal(err)
	}
	if err := open[0].Close(); err == nil {
		t.Fatal("a second Close succeeded")
	}
	for i := 0; i < 2; i++ {
		wf, err := o.Create(filepath.Join(dir, fmt.Sprint("again", i)), store.CacheNone)
		if err != nil {
			t.Fatal(err)
		}
		_, direct := wf.(*directFile)
		if direct != (i == 0) {
			t.Fatalf("after one Close, new file %d direct=%v", i, direct)
		}
		open = append(open, wf)
	}
	for _, wf := range open[1:] {
		wf.Close()
	}
}

// closeAndCompare syncs wf (when sync), closes it and checks that the
// file name holds exactly body.
func closeAndCompare(t *testing.T, wf WritableFile, name string, body []byte, sync bool) {
	t.Helper()
	if sync {
		if err := wf.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := wf.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("read back %d bytes that differ from the %d written", len(got), len(body))
	}
}

// TestDirectFileReportsAChunkWriteError: a chunk written in the
// background that fails (here a descriptor opened read-only) fails the
// next call that waits for it, and Sync at the latest: an error is never
// lost with its goroutine.
func TestDirectFileReportsAChunkWriteError(t *testing.T) {
	name := filepath.Join(t.TempDir(), "ro")
	if err := os.WriteFile(name, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	pool := &sync.Pool{New: func() any { return newAlignedChunk() }}
	closed := 0
	d := newDirectFile(f, pool, func() { closed++ })
	if _, err := d.Write(make([]byte, directChunk)); err != nil {
		t.Fatalf("the first chunk only starts its write: %v", err)
	}
	if err := d.Sync(); err == nil {
		t.Fatal("Sync after a failed chunk write returned nil")
	}
	if _, err := d.Write([]byte{1}); err == nil {
		t.Fatal("Write after a failed chunk write returned nil")
	}
	if err := d.Close(); err == nil || closed != 1 {
		t.Fatalf("Close: %v, closed %d times", err, closed)
	}
}
