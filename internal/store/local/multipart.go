package local

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/google/uuid"

	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/store"
)

// CreateMultipartUpload starts an upload of bucket/key. opts.Meta and
// opts.ChecksumAlgorithm are kept for the completed object; with an
// algorithm every part gets that checksum and the object a COMPOSITE one.
// Upload ids are UUIDv7 strings (ordered by initiation).
func (e *Engine) CreateMultipartUpload(ctx context.Context, bucket, key string, opts store.PutOptions) (store.UploadInfo, error) {
	if err := e.enter(); err != nil {
		return store.UploadInfo{}, err
	}
	defer e.leave()
	rec := uploadRecord{Initiated: time.Now().UTC(), Meta: opts.Meta}
	if opts.ChecksumAlgorithm != "" {
		a, ok := checksum.Canonical(opts.ChecksumAlgorithm)
		if !ok {
			return store.UploadInfo{}, fmt.Errorf("local: %w: %q", checksum.ErrUnsupported, opts.ChecksumAlgorithm)
		}
		rec.Algorithm = a
	}
	u, err := uuid.NewV7()
	if err != nil {
		return store.UploadInfo{}, err
	}
	id := u.String()
	bmu := e.bucketLock(bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	if err := e.bucketExists(bucket); err != nil {
		return store.UploadInfo{}, err
	}
	b := e.db.NewBatch()
	if err := setJSON(b, uploadKey(bucket, key, id), &rec); err != nil {
		b.Close()
		return store.UploadInfo{}, err
	}
	if err := setJSON(b, uploadIDKey(id), &uploadRef{Bucket: bucket, Key: key}); err != nil {
		b.Close()
		return store.UploadInfo{}, err
	}
	if err := e.commit(b); err != nil {
		return store.UploadInfo{}, err
	}
	return rec.info(bucket, key, id), nil
}

// lookupUpload returns the upload record, store.ErrNoSuchUpload (also when
// id belongs to another bucket or key), or store.ErrNoSuchBucket.
func (e *Engine) lookupUpload(bucket, key, id string) (*uploadRecord, error) {
	var ref uploadRef
	ok, err := e.getJSON(uploadIDKey(id), &ref)
	if err != nil {
		return nil, err
	}
	var rec uploadRecord
	if ok && ref.Bucket == bucket && ref.Key == key {
		ok, err = e.getJSON(uploadKey(bucket, key, id), &rec)
		if err != nil {
			return nil, err
		}
		if ok {
			return &rec, nil
		}
	}
	if err := e.bucketExists(bucket); err != nil {
		return nil, err
	}
	return nil, store.ErrNoSuchUpload
}

// UploadPart stores part number (1..10000) of an upload, replacing a part
// with the same number. The part's checksum uses opts.ChecksumAlgorithm, or
// the upload's algorithm when opts has none. Digests are checked as for
// PutObject. Parts of one upload commit one at a time; their data is
// written in parallel.
func (e *Engine) UploadPart(ctx context.Context, bucket, key, uploadID string, number int, r io.Reader, size int64, opts store.PutOptions) (store.PartInfo, error) {
	if err := e.enter(); err != nil {
		return store.PartInfo{}, err
	}
	defer e.leave()
	if number < 1 || number > store.MaxParts {
		return store.PartInfo{}, store.ErrInvalidPartNumber
	}
	up, err := e.lookupUpload(bucket, key, uploadID)
	if err != nil {
		return store.PartInfo{}, err
	}
	alg := opts.ChecksumAlgorithm
	if alg == "" {
		alg = up.Algorithm
	}
	ing, err := e.ingest(ctx, r, size, alg, opts)
	if err != nil {
		return store.PartInfo{}, err
	}
	if err := e.install(ing); err != nil {
		return store.PartInfo{}, err
	}
	rec := &partRecord{Size: ing.size, ETag: hex.EncodeToString(ing.md5), Checksum: ing.checksum, File: ing.id}
	err = e.commitPart(ctx, bucket, key, uploadID, number, rec)
	e.settle(ing, err == nil)
	if err != nil {
		return store.PartInfo{}, err
	}
	return rec.info(number), nil
}

func (e *Engine) commitPart(ctx context.Context, bucket, key, id string, number int, rec *partRecord) error {
	umu := e.uploadLock(id)
	umu.Lock()
	defer umu.Unlock()
	bmu := e.bucketLock(bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := e.lookupUpload(bucket, key, id); err != nil {
		return err
	}
	var old partRecord
	exists, err := e.getJSON(partKey(id, number), &old)
	if err != nil {
		return err
	}
	rec.Modified = time.Now().UTC()
	b := e.db.NewBatch()
	if err := setJSON(b, partKey(id, number), rec); err != nil {
		b.Close()
		return err
	}
	b.Set(fileKey(rec.File), partKey(id, number), nil)
	if exists {
		b.Delete(fileKey(old.File), nil)
	}
	if err := e.commit(b); err != nil {
		return err
	}
	if exists {
		e.removeData(old.File)
	}
	return nil
}

// ListParts returns up to maxParts (0 or over 1000: 1000) parts numbered
// above marker, in order.
func (e *Engine) ListParts(ctx context.Context, bucket, key, uploadID string, marker, maxParts int) (store.ListPartsResult, error) {
	if err := e.enter(); err != nil {
		return store.ListPartsResult{}, err
	}
	defer e.leave()
	up, err := e.lookupUpload(bucket, key, uploadID)
	if err != nil {
		return store.ListPartsResult{}, err
	}
	if maxParts <= 0 || maxParts > maxListKeys {
		maxParts = maxListKeys
	}
	marker = max(marker, 0)
	res := store.ListPartsResult{Upload: up.info(bucket, key, uploadID)}
	base := partBase(uploadID)
	it, err := e.db.NewIter(&pebble.IterOptions{
		LowerBound: partKey(uploadID, marker+1),
		UpperBound: []byte(successor(base)),
	})
	if err != nil {
		return store.ListPartsResult{}, err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if len(res.Parts) == maxParts {
			res.IsTruncated = true
			res.NextPartNumberMarker = res.Parts[len(res.Parts)-1].Number
			break
		}
		n, err := strconv.Atoi(string(it.Key()[len(base):]))
		if err != nil {
			return store.ListPartsResult{}, fmt.Errorf("local: part key %q: %w", it.Key(), err)
		}
		var rec partRecord
		if err := json.Unmarshal(it.Value(), &rec); err != nil {
			return store.ListPartsResult{}, fmt.Errorf("local: part %q: %w", it.Key(), err)
		}
		res.Parts = append(res.Parts, rec.info(n))
	}
	return res, it.Error()
}

// AbortMultipartUpload drops an upload and its parts.
func (e *Engine) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.leave()
	umu := e.uploadLock(uploadID)
	umu.Lock()
	defer umu.Unlock()
	bmu := e.bucketLock(bucket)
	bmu.RLock()
	defer bmu.RUnlock()
	if _, err := e.lookupUpload(bucket, key, uploadID); err != nil {
		return err
	}
	b := e.db.NewBatch()
	b.Delete(uploadKey(bucket, key, uploadID), nil)
	files, err := e.dropParts(b, uploadID)
	if err != nil {
		b.Close()
		return err
	}
	if err := e.commit(b); err != nil {
		return err
	}
	e.removeData(files...)
	return nil
}

// dropParts adds to b the deletion of i/<id> and of every part of the
// upload, and returns the part files to unlink after the commit.
func (e *Engine) dropParts(b *pebble.Batch, id string) ([]string, error) {
	b.Delete(uploadIDKey(id), nil)
	base := partBase(id)
	it, err := e.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte(base),
		UpperBound: []byte(successor(base)),
	})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var files []string
	for ok := it.First(); ok; ok = it.Next() {
		var rec partRecord
		if err := json.Unmarshal(it.Value(), &rec); err != nil {
			return nil, fmt.Errorf("local: part %q: %w", it.Key(), err)
		}
		b.Delete(it.Key(), nil)
		b.Delete(fileKey(rec.File), nil)
		files = append(files, rec.File)
	}
	return files, it.Error()
}

// CompleteMultipartUpload assembles the listed parts into one object. Parts
// must be in ascending order (store.ErrInvalidPartOrder), exist with the
// given ETag and checksum (store.ErrInvalidPart), and all but the last be at
// least store.MinPartSize (store.ErrEntityTooSmall). The part files are
// stream-copied (and verified) into a new data file, made durable like a
// PutObject, and published in the same batch that drops the upload. Other
// calls on this upload wait until it is done.
func (e *Engine) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []store.CompletePart) (store.ObjectInfo, error) {
	return e.completeUpload(ctx, bucket, key, uploadID, parts, store.Stamp{}, "")
}

// CompleteMultipartUploadAt is CompleteMultipartUpload whose object carries
// stamp; with a non-zero stamp it installs only if stamp is After what is
// held for the key, else store.ErrSuperseded, and the upload is consumed
// either way. It implements store.Replicas.
func (e *Engine) CompleteMultipartUploadAt(ctx context.Context, bucket, key, uploadID string, parts []store.CompletePart, stamp store.Stamp) (store.ObjectInfo, error) {
	return e.completeUpload(ctx, bucket, key, uploadID, parts, stamp, "")
}

// CompleteMultipartUploadVersion is CompleteMultipartUploadAt whose
// object is stored as version versionID of the key (a cluster's id, as
// store.PutOptions.VersionID says): a version held already is
// store.ErrSuperseded and the upload stays.
func (e *Engine) CompleteMultipartUploadVersion(ctx context.Context, bucket, key, uploadID string, parts []store.CompletePart, stamp store.Stamp, versionID string) (store.ObjectInfo, error) {
	return e.completeUpload(ctx, bucket, key, uploadID, parts, stamp, versionID)
}

// completeUpload is CompleteMultipartUpload(At,Version).
func (e *Engine) completeUpload(ctx context.Context, bucket, key, uploadID string, parts []store.CompletePart, stamp store.Stamp, versionID string) (store.ObjectInfo, error) {
	if err := e.enter(); err != nil {
		return store.ObjectInfo{}, err
	}
	defer e.leave()
	umu := e.uploadLock(uploadID)
	umu.Lock()
	defer umu.Unlock()
	up, err := e.lookupUpload(bucket, key, uploadID)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	recs, err := e.checkParts(uploadID, up, parts)
	if err != nil {
		return store.ObjectInfo{}, err
	}

	obj, err := completedRecord(up, parts, recs)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	obj.Stamp = stamp
	ing, err := e.assemble(ctx, bucket, key, uploadID, recs)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	obj.Size, obj.File = ing.size, ing.id
	if err := e.install(ing); err != nil {
		return store.ObjectInfo{}, err
	}
	var partFiles []string
	dropUpload := func(b *pebble.Batch) error {
		if ok, err := e.has(uploadIDKey(uploadID)); err != nil {
			return err
		} else if !ok {
			return store.ErrNoSuchUpload // dropped with its bucket meanwhile
		}
		b.Delete(uploadKey(bucket, key, uploadID), nil)
		files, derr := e.dropParts(b, uploadID)
		partFiles = files
		return derr
	}
	if versionID != "" {
		obj.VersionID, obj.Modified = versionID, time.Now().UTC()
		err = e.commitGivenVersion(ctx, bucket, key, obj, dropUpload) // superseded: the upload stays
	} else {
		err = e.commitObject(ctx, bucket, key, obj, commitOpts{extraOnSuperseded: true, extra: dropUpload})
	}
	e.settle(ing, err == nil)
	if errors.Is(err, store.ErrSuperseded) {
		e.removeData(partFiles...)
	}
	if err != nil {
		return store.ObjectInfo{}, err
	}
	e.removeData(partFiles...)
	return obj.info(bucket, key), nil
}

// completedRecord returns the record of the object that completes up
// with parts (recs in the same order): its parts, multipart ETag and
// composite checksum. Size and File are left to the caller.
func completedRecord(up *uploadRecord, parts []store.CompletePart, recs []*partRecord) (*objectRecord, error) {
	obj := &objectRecord{Meta: up.Meta, Parts: make([]partRef, len(parts))}
	etags := md5.New()
	var sums []string
	for i, p := range parts {
		r := recs[i]
		raw, err := hex.DecodeString(r.ETag)
		if err != nil {
			return nil, fmt.Errorf("local: part %d etag %q: %w", p.Number, r.ETag, err)
		}
		etags.Write(raw)
		obj.Parts[i] = partRef{N: p.Number, S: r.Size, E: r.ETag}
		if up.Algorithm != "" {
			obj.Parts[i].C = r.Checksum.Value
			sums = append(sums, r.Checksum.Value)
		}
	}
	obj.ETag = fmt.Sprintf("%s-%d", hex.EncodeToString(etags.Sum(nil)), len(parts))
	if up.Algorithm != "" {
		v, err := checksum.Composite(up.Algorithm, sums)
		if err != nil {
			return nil, err
		}
		obj.Checksum = &store.Checksum{Algorithm: up.Algorithm, Value: v, Type: "COMPOSITE"}
	}
	return obj, nil
}

// checkParts validates a completion request and returns the listed parts'
// records in request order.
func (e *Engine) checkParts(id string, up *uploadRecord, parts []store.CompletePart) ([]*partRecord, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no parts given", store.ErrInvalidPart)
	}
	for i, p := range parts {
		if p.Number < 1 || p.Number > store.MaxParts {
			return nil, fmt.Errorf("%w: part number %d", store.ErrInvalidPart, p.Number)
		}
		if i > 0 && p.Number <= parts[i-1].Number {
			return nil, fmt.Errorf("%w: part %d after part %d", store.ErrInvalidPartOrder, p.Number, parts[i-1].Number)
		}
	}
	recs := make([]*partRecord, len(parts))
	for i, p := range parts {
		var r partRecord
		ok, err := e.getJSON(partKey(id, p.Number), &r)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: part %d was not uploaded", store.ErrInvalidPart, p.Number)
		}
		if strings.Trim(p.ETag, `"`) != r.ETag {
			return nil, fmt.Errorf("%w: part %d etag %q, stored %q", store.ErrInvalidPart, p.Number, p.ETag, r.ETag)
		}
		if p.Checksum.Value != "" {
			if r.Checksum == nil || r.Checksum.Value != p.Checksum.Value ||
				(p.Checksum.Algorithm != "" && !strings.EqualFold(p.Checksum.Algorithm, r.Checksum.Algorithm)) {
				return nil, fmt.Errorf("%w: part %d checksum differs", store.ErrInvalidPart, p.Number)
			}
		}
		if up.Algorithm != "" && (r.Checksum == nil || r.Checksum.Algorithm != up.Algorithm) {
			return nil, fmt.Errorf("%w: part %d has no %s checksum", store.ErrInvalidPart, p.Number, up.Algorithm)
		}
		recs[i] = &r
	}
	for i, r := range recs[:len(recs)-1] {
		if r.Size < store.MinPartSize {
			return nil, fmt.Errorf("%w: part %d is %d bytes", store.ErrEntityTooSmall, parts[i].Number, r.Size)
		}
	}
	return recs, nil
}

// assemble copies the part files, verifying their blocks, into one new
// temporary data file, written through the page cache (the object is
// likely read soon; a cluster's replicas of it are too, see
// store.PutOptions.Cache).
func (e *Engine) assemble(ctx context.Context, bucket, key, id string, recs []*partRecord) (*ingested, error) {
	ing := &ingested{id: uuid.NewString()}
	ing.tmp = filepath.Join(e.tmpDir, ing.id)
	f, err := e.fs.Create(ing.tmp, store.CacheWrite)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			e.fs.Remove(ing.tmp)
		}
	}()
	wbuf, rbuf := e.getBuf(), e.getBuf()
	defer e.putBuf(wbuf)
	defer e.putBuf(rbuf)
	bw := newBlockWriter(f, wbuf)
	dst := &ctxWriter{ctx: ctx, w: bw}
	for _, r := range recs {
		bf, err := e.openBlockFile(e.dataPath(r.File), r.Size)
		if errors.Is(err, fs.ErrNotExist) {
			if _, lerr := e.lookupUpload(bucket, key, id); lerr != nil {
				return nil, lerr
			}
			return nil, corruptf("part file %s is missing", r.File)
		}
		if err != nil {
			return nil, err
		}
		br := newBlockReader(bf, 0, r.Size, rbuf, nil)
		_, err = br.WriteTo(dst)
		bf.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := bw.Finish(); err != nil {
		return nil, fmt.Errorf("local: write data: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("local: write data: %w", err)
	}
	ing.size = bw.Size()
	ok = true
	return ing, nil
}

// ctxWriter fails writes once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// ListMultipartUploads returns a page of in-progress uploads of bucket,
// ordered by key and then by initiation. MaxUploads 0 (or over 1000) means
// 1000; uploads and common prefixes count alike.
func (e *Engine) ListMultipartUploads(ctx context.Context, bucket string, opts store.ListUploadsOptions) (store.ListUploadsResult, error) {
	if err := e.enter(); err != nil {
		return store.ListUploadsResult{}, err
	}
	defer e.leave()
	if err := e.bucketExists(bucket); err != nil {
		return store.ListUploadsResult{}, err
	}
	maxU := opts.MaxUploads
	if maxU <= 0 || maxU > maxListKeys {
		maxU = maxListKeys
	}
	base := uploadBase(bucket)
	sc, err := newScanner(e, base, opts.Prefix, opts.Delimiter)
	if err != nil {
		return store.ListUploadsResult{}, err
	}
	defer sc.close()
	switch km := opts.KeyMarker; {
	case km == "" || km < opts.Prefix:
		sc.ok = sc.it.First()
	case opts.UploadIDMarker != "":
		sc.seek(km + "\x00" + opts.UploadIDMarker + "\x00")
	default:
		if cp, ok := sc.commonPrefix(km); ok && cp == km {
			sc.skipPrefix(cp)
		} else {
			sc.seek(km + "\x01")
		}
	}
	var res store.ListUploadsResult
	count := 0
	for sc.valid() {
		if count == maxU {
			res.IsTruncated = true
			break
		}
		key, id, ok := splitUploadKey(sc.key())
		if !ok {
			sc.next()
			continue
		}
		if cp, ok := sc.commonPrefix(key); ok {
			res.CommonPrefixes = append(res.CommonPrefixes, cp)
			res.NextKeyMarker, res.NextUploadIDMarker = cp, ""
			count++
			sc.skipPrefix(cp)
			continue
		}
		var rec uploadRecord
		if err := json.Unmarshal(sc.it.Value(), &rec); err != nil {
			return store.ListUploadsResult{}, fmt.Errorf("local: upload %q: %w", sc.it.Key(), err)
		}
		res.Uploads = append(res.Uploads, rec.info(bucket, key, id))
		res.NextKeyMarker, res.NextUploadIDMarker = key, id
		count++
		sc.next()
	}
	if err := sc.it.Error(); err != nil {
		return store.ListUploadsResult{}, err
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	return res, nil
}
