package local

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/blockfile"
)

// OpenFile returns bucket/key's info and its open data file, in the
// blockfile format (internal/store/blockfile) holding info.Size data
// bytes, for readers that verify blocks themselves (the sandbox reads
// inputs in place). The trailer is checked before OpenFile returns; a
// concurrent overwrite or delete does not disturb the open file. The caller
// closes it. It implements store.LocalFiles. A body kept inline in the
// index has no file: store.ErrNotLocal (read it with GetObject).
func (e *Engine) OpenFile(ctx context.Context, bucket, key string) (store.ObjectInfo, *os.File, error) {
	if err := e.enter(); err != nil {
		return store.ObjectInfo{}, nil, err
	}
	defer e.leave()
	var tried string
	for {
		if err := ctx.Err(); err != nil {
			return store.ObjectInfo{}, nil, err
		}
		rec, err := e.lookupObject(bucket, key)
		if err != nil {
			return store.ObjectInfo{}, nil, err
		}
		if rec.Inline {
			return rec.info(bucket, key), nil, store.ErrNotLocal
		}
		path := e.dataPath(rec.File)
		rf, err := e.fs.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			if rec.File == tried {
				return store.ObjectInfo{}, nil, corruptf("%s/%s: data file %s is missing", bucket, key, rec.File)
			}
			tried = rec.File
			continue
		}
		if err != nil {
			return store.ObjectInfo{}, nil, err
		}
		f, ok := rf.(*os.File)
		if !ok {
			rf.Close()
			return store.ObjectInfo{}, nil, errors.New("local: OpenFile needs the OS filesystem")
		}
		if _, err := blockfile.Check(f, path, rec.Size); err != nil {
			f.Close()
			return store.ObjectInfo{}, nil, err
		}
		return rec.info(bucket, key), f, nil
	}
}

var _ store.LocalFiles = (*Engine)(nil)
