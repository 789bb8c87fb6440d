package local

import (
	"context"
	"errors"
	"io"
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
	info, f, _, err := e.openLocal(ctx, bucket, key, false)
	return info, f, err
}

// OpenLocal is OpenFile that also serves a body kept inline in the
// index: its reader (verified per block, as GetObject's), found by the
// same lookup, instead of store.ErrNotLocal. It implements
// store.LocalOpener.
func (e *Engine) OpenLocal(ctx context.Context, bucket, key string) (store.ObjectInfo, *os.File, io.ReadCloser, error) {
	return e.openLocal(ctx, bucket, key, true)
}

// openLocal is OpenFile, and OpenLocal when inline.
func (e *Engine) openLocal(ctx context.Context, bucket, key string, inline bool) (store.ObjectInfo, *os.File, io.ReadCloser, error) {
	if err := e.enter(); err != nil {
		return store.ObjectInfo{}, nil, nil, err
	}
	defer e.leave()
	var tried string
	for {
		if err := ctx.Err(); err != nil {
			return store.ObjectInfo{}, nil, nil, err
		}
		rec, err := e.lookupObject(bucket, key)
		if err != nil {
			return store.ObjectInfo{}, nil, nil, err
		}
		if rec.Inline && inline {
			info, rc, err := e.openObject(ctx, bucket, key, nil, firstThen(rec, func() (*objectRecord, error) { return e.lookupObject(bucket, key) }))
			return info, nil, rc, err
		}
		if rec.Inline {
			return rec.info(bucket, key), nil, nil, store.ErrNotLocal
		}
		path := e.dataPath(rec.File)
		rf, err := e.fs.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			if rec.File == tried {
				return store.ObjectInfo{}, nil, nil, corruptf("%s/%s: data file %s is missing", bucket, key, rec.File)
			}
			tried = rec.File
			continue
		}
		if err != nil {
			return store.ObjectInfo{}, nil, nil, err
		}
		f, ok := rf.(*os.File)
		if !ok {
			rf.Close()
			return store.ObjectInfo{}, nil, nil, errors.New("local: OpenFile needs the OS filesystem")
		}
		if _, err := blockfile.Check(f, path, rec.Size); err != nil {
			f.Close()
			return store.ObjectInfo{}, nil, nil, err
		}
		return rec.info(bucket, key), f, nil, nil
	}
}

// firstThen is a lookup for openObject that answers rec first (already
// looked up), then asks lookup (the record changed before its body was
// read).
func firstThen(rec *objectRecord, lookup func() (*objectRecord, error)) func() (*objectRecord, error) {
	return func() (*objectRecord, error) {
		if r := rec; r != nil {
			rec = nil
			return r, nil
		}
		return lookup()
	}
}

var (
	_ store.LocalFiles  = (*Engine)(nil)
	_ store.LocalOpener = (*Engine)(nil)
)
