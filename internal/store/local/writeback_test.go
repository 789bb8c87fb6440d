package local

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestWritebackFileKeepsEveryByte writes a body over several writeback
// windows, in uneven pieces and through io.Copy, syncs it and reads it back.
func TestWritebackFileKeepsEveryByte(t *testing.T) {
	body := make([]byte, 3*writebackEvery+12345)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range body {
		body[i] = byte(r.Uint32())
	}
	name := filepath.Join(t.TempDir(), "data")
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var wf WritableFile = &writebackFile{f: f}
	if _, ok := wf.(io.ReaderFrom); ok {
		t.Fatalf("the data file offers ReadFrom, which would write around the writeback")
	}
	head := body[:writebackEvery+7]
	for len(head) > 0 {
		n := min(len(head), 1+r.IntN(300<<10))
		if _, err := wf.Write(head[:n]); err != nil {
			t.Fatal(err)
		}
		head = head[n:]
	}
	if _, err := io.Copy(wf, bytes.NewReader(body[writebackEvery+7:])); err != nil {
		t.Fatal(err)
	}
	if wb := wf.(*writebackFile); wb.started == 0 || wb.written != int64(len(body)) {
		t.Fatalf("writeback started at %d of %d bytes written (body %d)", wb.started, wb.written, len(body))
	}
	closeAndCompare(t, wf, name, body, true)
}
