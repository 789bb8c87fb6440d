package local

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/insitu-cloud/insitu/internal/store"
)

// ListObjectVersions returns one page of bucket's versions and delete
// markers, by key and then newest first; see store.Versioned. It is one
// ordered scan of the latest records (o/) that rolls up common prefixes as
// ListObjects does, reading each key's noncurrent versions (w/) after its
// latest. MaxKeys 0 means 1000, larger values are capped at 1000.
func (e *Engine) ListObjectVersions(ctx context.Context, bucket string, opts store.ListVersionsOptions) (store.ListVersionsResult, error) {
	if err := e.enter(); err != nil {
		return store.ListVersionsResult{}, err
	}
	defer e.leave()
	if err := e.bucketExists(bucket); err != nil {
		return store.ListVersionsResult{}, err
	}
	l := &versionLister{e: e, bucket: bucket, max: opts.MaxKeys}
	if l.max <= 0 || l.max > maxListKeys {
		l.max = maxListKeys
	}
	sc, err := newScanner(e, objectBase(bucket), opts.Prefix, opts.Delimiter)
	if err != nil {
		return store.ListVersionsResult{}, err
	}
	defer sc.close()
	resumeIn := ""
	switch {
	case opts.KeyMarker != "" && opts.VersionIDMarker != "" && opts.KeyMarker >= opts.Prefix:
		sc.seek(opts.KeyMarker)
		resumeIn = opts.KeyMarker
	default:
		sc.start(opts.KeyMarker)
	}
	for steps := 0; sc.valid() && !l.res.IsTruncated; steps++ {
		if steps%256 == 0 {
			if err := ctx.Err(); err != nil {
				return store.ListVersionsResult{}, err
			}
		}
		if err := l.visit(sc, resumeIn, opts.VersionIDMarker); err != nil {
			return store.ListVersionsResult{}, err
		}
	}
	if err := sc.it.Error(); err != nil {
		return store.ListVersionsResult{}, err
	}
	if !l.res.IsTruncated {
		l.res.NextKeyMarker, l.res.NextVersionIDMarker = "", ""
	}
	return l.res, nil
}

// versionLister accumulates one page of ListObjectVersions.
type versionLister struct {
	e      *Engine
	bucket string
	max    int
	count  int
	res    store.ListVersionsResult
}

// full reports whether the page has no room left; the caller has one
// more entry, so the listing is truncated.
func (l *versionLister) full() bool {
	if l.count == l.max {
		l.res.IsTruncated = true
		return true
	}
	return false
}

// visit lists the scanner's current key (or its common prefix) and moves
// on. Versions of resumeKey up to and including versionMarker are skipped.
func (l *versionLister) visit(sc *scanner, resumeKey, versionMarker string) error {
	key := sc.key()
	var rec objectRecord
	if err := json.Unmarshal(sc.it.Value(), &rec); err != nil {
		return fmt.Errorf("local: object %q: %w", key, err)
	}
	if !isVersion(&rec) {
		sc.next()
		return nil
	}
	if cp, ok := sc.commonPrefix(key); ok {
		if l.full() {
			return nil
		}
		l.res.CommonPrefixes = append(l.res.CommonPrefixes, cp)
		l.res.NextKeyMarker, l.res.NextVersionIDMarker = cp, ""
		l.count++
		sc.skipPrefix(cp)
		return nil
	}
	skipping := key == resumeKey
	add := func(r *objectRecord, latest bool) bool {
		id := versionOf(r)
		if skipping {
			// Past the marker by sort (ids sort as their versions), so a
			// marker naming a version this node does not hold (removed
			// meanwhile, or held by another replica) resumes in place.
			if versionMarker == store.NullVersionID {
				skipping = id != versionMarker
				return true
			}
			if sortOf(r) <= versionMarker {
				return true
			}
			skipping = false
		}
		if l.full() {
			return false
		}
		info := r.info(l.bucket, key)
		info.VersionID = id
		l.res.Versions = append(l.res.Versions, store.ObjectVersion{Info: info, IsLatest: latest})
		l.res.NextKeyMarker, l.res.NextVersionIDMarker = key, id
		l.count++
		return true
	}
	if !add(&rec, true) {
		return nil
	}
	err := l.e.eachNoncurrent(l.bucket, key, func(_ []byte, r *objectRecord) bool { return add(r, false) })
	sc.next()
	return err
}
