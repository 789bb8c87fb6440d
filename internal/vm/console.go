package vm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ConsoleTail returns the last max bytes of dir's console.log (nil, nil
// when there is none yet, or when max <= 0). It reads the file as it is
// on disk and may run while QEMU appends to it.
func ConsoleTail(dir string, max int) ([]byte, error) {
	if max <= 0 {
		return nil, nil
	}
	return tail(filepath.Join(dir, consoleFile), max)
}

// tail is the last max bytes of the file at path (nil, nil when it does
// not exist).
func tail(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := st.Size() - int64(max)
	if off < 0 {
		off = 0
	}
	b, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil {
		return nil, fmt.Errorf("vm: read %s: %w", path, err)
	}
	return b, nil
}

// TrimConsole bounds dir's console.log: once it is larger than limit
// bytes it keeps only its last keep bytes, so a guest that writes to its
// serial console without end cannot fill the host's disk. QEMU appends
// (O_APPEND), so its next write lands after the kept tail; what it writes
// between the read and the truncation is lost. It reports whether it
// trimmed. Safe to call while QEMU runs; not concurrently for one dir.
func TrimConsole(dir string, limit, keep int64) (bool, error) {
	path := filepath.Join(dir, consoleFile)
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && st.Size() <= limit) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	kept, err := tail(path, int(keep))
	if err != nil {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return false, err
	}
	_, werr := f.Write(kept)
	if err := errors.Join(werr, f.Close()); err != nil {
		return false, fmt.Errorf("vm: trim %s: %w", path, err)
	}
	return true, nil
}
