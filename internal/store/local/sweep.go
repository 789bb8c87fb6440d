package local

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/google/uuid"
)

// sweep removes data files that no f/ key references: files renamed into
// objects/ by a write that crashed before its metadata commit, files
// replaced or deleted whose unlink did not happen, and part files of
// uploads that are gone. It is a point lookup per file and runs in the
// background from Open until done or ctx is cancelled.
//
// Files of writes in progress are marked in flight before their rename and
// unmarked after their commit; the sweep checks that mark before the index,
// so it never removes a file whose commit is about to land.
func (e *Engine) sweep(ctx context.Context) error {
	removed, kept := 0, 0
	for i := 0; i < 256; i++ {
		dir := filepath.Join(e.objDir, hex2(i))
		ents, err := e.fs.ReadDir(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		for _, ent := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			id := ent.Name()
			if _, err := uuid.Parse(id); err != nil || ent.IsDir() {
				e.log.Warn("unexpected entry in objects directory", "path", filepath.Join(dir, id))
				continue
			}
			if e.isInflight(id) {
				kept++
				continue
			}
			ok, err := e.has(fileKey(id))
			if err != nil {
				return err
			}
			if ok {
				kept++
				continue
			}
			if err := e.fs.Remove(filepath.Join(dir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				e.log.Warn("sweep: remove orphan", "file", id, "err", err)
				continue
			}
			removed++
		}
	}
	if removed > 0 {
		e.log.Info("sweep removed unreferenced data files", "removed", removed, "kept", kept)
	}
	return nil
}

func hex2(i int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[i>>4], digits[i&15]})
}
