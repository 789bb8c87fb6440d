package sandbox

import (
	"io"
	"os"

	"github.com/insitu-cloud/insitu/internal/store/blockfile"
)

// openBlockReader reads an object data file sequentially, verifying every
// block.
func openBlockReader(f *os.File, size int64) (io.Reader, error) {
	return blockfile.OpenReader(f, size)
}

// openBlockReaderAt reads an object data file at offsets, verifying every
// block it touches.
func openBlockReaderAt(f *os.File, size int64) (io.ReaderAt, error) {
	return blockfile.OpenReaderAt(f, size)
}
