package local

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackEvery is how many bytes a data file takes before its
// writeback is started (see writebackFile).
const writebackEvery = 4 << 20

// writebackFile is a data file being written that asks the kernel to
// start writing its pages to the device every writebackEvery bytes
// (sync_file_range with SYNC_FILE_RANGE_WRITE: it starts the I/O and does
// not wait for it), so the device works while the body still streams in
// and the fsync at the end finds little left to write. Without it the
// kernel holds a large object's pages dirty until the fsync (background
// writeback starts only at 10% of memory dirty), and the whole copy is
// written then, after the body has arrived. Durability still rests on
// Sync alone.
//
// It holds the file rather than embedding it, so io.Copy cannot reach
// (*os.File).ReadFrom and write around Write. Not safe for concurrent use,
// like the file it wraps.
type writebackFile struct {
	f       *os.File
	written int64 // bytes written so far
	started int64 // bytes whose writeback was started
}

func (w *writebackFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if w.written-w.started >= writebackEvery {
		// Advisory: an error here changes nothing that Sync does not check.
		_ = unix.SyncFileRange(int(w.f.Fd()), w.started, w.written-w.started, unix.SYNC_FILE_RANGE_WRITE)
		w.started = w.written
	}
	return n, err
}

// Sync makes the file's data durable: fdatasync, as the engine needs the
// bytes and the size, not the times.
func (w *writebackFile) Sync() error { return unix.Fdatasync(int(w.f.Fd())) }

// Close closes the file.
func (w *writebackFile) Close() error { return w.f.Close() }
