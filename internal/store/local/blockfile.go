package local

import (
	"fmt"
	"os"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/blockfile"
)

// The data file format lives in internal/store/blockfile; these names keep
// the engine's code short.
const blockSize = blockfile.BlockSize

type blockWriter = blockfile.Writer

func newBlockWriter(f *os.File, buf []byte) *blockWriter { return blockfile.NewWriter(f, buf) }

func openBlockFile(path string, wantLen int64) (*blockfile.File, error) {
	return blockfile.Open(path, wantLen)
}

func newBlockReader(bf *blockfile.File, off, n int64, buf []byte, release func([]byte)) *blockfile.Reader {
	return bf.NewReader(off, n, buf, release)
}

// corruptf returns an error wrapping store.ErrCorrupt.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrCorrupt, fmt.Sprintf(format, args...))
}
