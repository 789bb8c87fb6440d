package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/google/uuid"

	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/blockfile"
)

// DefaultInlineMax is the default of Options.InlineMax: bodies of at most
// 64 KiB are kept inside the index (see BENCHMARKS.md "Small objects
// inline" for the measurements behind it).
const DefaultInlineMax = 64 << 10

// inlineKey is the index key holding the blockfile image of an inline
// object's body; fileID is the record's File.
func inlineKey(fileID string) []byte { return []byte(pfxInline + fileID) }

// memSink is the in-memory destination of an inline body's blockfile
// image: Sync has nothing to do because the image is committed with the
// record in one synced batch.
type memSink struct{ bytes.Buffer }

func (*memSink) Sync() error { return nil }

// inlineImage is a blockfile image in memory, read like a data file: a
// copy of the index value in a pooled buffer (so a slow reader pins no
// Pebble memtable or block), which Close gives back (once).
type inlineImage struct {
	*bytes.Reader
	name    string
	size    int64
	buf     *[]byte
	release func(*[]byte)
}

func (m *inlineImage) Close() error {
	if m.buf != nil {
		m.release(m.buf)
		m.buf = nil
	}
	return nil
}

func (m *inlineImage) Stat() (fs.FileInfo, error) { return m, nil }
func (m *inlineImage) Name() string               { return m.name }
func (m *inlineImage) Size() int64                { return m.size }
func (m *inlineImage) Mode() fs.FileMode          { return 0o400 }
func (m *inlineImage) ModTime() time.Time         { return time.Time{} }
func (m *inlineImage) IsDir() bool                { return false }
func (m *inlineImage) Sys() any                   { return nil }

// ingestBody is ingest for whole objects: a body of at most e.inlineMax
// bytes is read into memory and its blockfile image returned in
// ingested.data (no file is made); a larger one streams to a data file
// as before, the bytes read ahead included. The probe buffer is pooled.
func (e *Engine) ingestBody(ctx context.Context, r io.Reader, size int64, alg string, opts store.PutOptions) (*ingested, error) {
	if e.inlineMax <= 0 || size > int64(e.inlineMax) {
		return e.ingest(ctx, r, size, alg, opts)
	}
	bp := e.inlinePool.Get().(*[]byte)
	defer e.inlinePool.Put(bp)
	probe := (*bp)[:e.inlineMax+1]
	if size >= 0 {
		probe = probe[:size+1]
	}
	n, err := io.ReadFull(r, probe)
	switch {
	case err == nil && n > e.inlineMax:
		return e.ingest(ctx, io.MultiReader(bytes.NewReader(probe[:n]), r), size, alg, opts)
	case err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("local: read body: %w", err)
	}
	sink := &memSink{}
	sink.Grow(imageSize(n))
	ing, err := e.ingestTo(ctx, sink, bytes.NewReader(probe[:n]), size, alg, opts)
	if err != nil {
		return nil, err
	}
	ing.id, ing.data = uuid.NewString(), sink.Bytes()
	return ing, nil
}

// openInline returns the blockfile image of rec's inline body, read from
// the index in place (fs.ErrNotExist when its key is gone: the record was
// replaced or deleted since it was read). Closing the File (its Reader)
// releases the value.
func (e *Engine) openInline(rec *objectRecord) (*blockfile.File, error) {
	v, closer, err := e.db.Get(inlineKey(rec.File))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("local: index read: %w", err)
	}
	bp := e.imagePool.Get().(*[]byte)
	*bp = append((*bp)[:0], v...)
	closer.Close()
	name := "inline " + rec.File
	img := &inlineImage{Reader: bytes.NewReader(*bp), name: name, size: int64(len(*bp)), buf: bp, release: e.putImage}
	bf, err := blockfile.Check(img, name, rec.Size)
	if err != nil {
		img.Close()
		return nil, err
	}
	return bf, nil
}

// imageSize is the size of the blockfile image of n data bytes.
func imageSize(n int) int { return n + 4*((n+blockSize-1)/blockSize) + 24 }

// putImage returns an image buffer to the pool unless it grew past the
// size the pool hands out (a body kept under a larger InlineMax).
func (e *Engine) putImage(bp *[]byte) {
	if cap(*bp) <= imageSize(max(e.inlineMax, 0)) {
		e.imagePool.Put(bp)
	}
}

// openData opens rec's body: its inline image or its data file.
func (e *Engine) openData(rec *objectRecord) (*blockfile.File, error) {
	if rec.Inline {
		return e.openInline(rec)
	}
	return e.openBlockFile(e.dataPath(rec.File), rec.Size)
}

// dropData adds to b the removal of r's f/ key and, for an inline body,
// of its bytes; it returns the data file to unlink after the commit ("" for
// none).
func dropData(b *pebble.Batch, r *objectRecord) string {
	if r.File == "" {
		return ""
	}
	b.Delete(fileKey(r.File), nil)
	if r.Inline {
		b.Delete(inlineKey(r.File), nil)
		return ""
	}
	return r.File
}

// dataFile is r's data file to unlink once r is gone ("" when inline).
func (r *objectRecord) dataFile() string {
	if r.Inline {
		return ""
	}
	return r.File
}

// setBody points rec at ing's body: its data file, or its inline image.
func (ing *ingested) setBody(rec *objectRecord) {
	rec.File = ing.id
	if ing.data != nil {
		rec.Inline, rec.data = true, ing.data
	}
}
