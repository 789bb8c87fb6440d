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
