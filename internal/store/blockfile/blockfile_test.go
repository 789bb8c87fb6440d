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
