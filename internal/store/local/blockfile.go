package local

import (
	"fmt"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/blockfile"
)

// The data file format lives in internal/store/blockfile; these names keep
// the engine's code short.
const blockSize = blockfile.BlockSize

type blockWriter = blockfile.Writer

func newBlockWriter(f WritableFile, buf []byte) *blockWriter { return blockfile.NewWriter(f, buf) }

// openBlockFile opens the data file at path on the engine's filesystem and
// checks its trailer against wantLen.
func (e *Engine) openBlockFile(path string, wantLen int64) (*blockfile.File, error) {
	f, err := e.fs.Open(path)
	if err != nil {
		return nil, err
	}
	bf, err := blockfile.Check(f, path, wantLen)
	if err != nil {
		f.Close()
		return nil, err
	}
	return bf, nil
}

func newBlockReader(bf *blockfile.File, off, n int64, buf []byte, release func([]byte)) *blockfile.Reader {
	return bf.NewReader(off, n, buf, release)
}

// corruptf returns an error wrapping store.ErrCorrupt.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrCorrupt, fmt.Sprintf(format, args...))
}
