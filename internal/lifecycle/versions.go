package lifecycle

import (
	"context"
	"errors"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// keyChain follows one key's versions as a listing gives them, newest
// first: when the next (older) one became noncurrent, and how many
// noncurrent versions are newer than it.
type keyChain struct {
	key     string
	since   time.Time // when the version next listed became noncurrent
	newer   int       // noncurrent versions listed before it
	unknown bool      // the chain began before this listing did (resumed)
}

// expireVersions walks the versions under prefix in a bucket with
// versioning (nothing to do without), removing noncurrent versions and
// expired delete markers the rules name, and records its progress after
// each page.
func (r *Runner) expireVersions(ctx context.Context, bc BucketRules, prefix string, p *progress, now time.Time, st *Stats) error {
	v, ok1 := r.cfg.Engine.(store.Versioned)
	x, ok2 := r.cfg.Engine.(store.VersionExpirer)
	if !ok1 || !ok2 {
		return nil
	}
	if state, err := v.BucketVersioning(ctx, bc.Bucket); err != nil || state == store.VersioningUnset {
		return err
	}
	opts := store.ListVersionsOptions{Prefix: prefix, MaxKeys: r.cfg.PageSize}
	var ch keyChain
	if p.After > prefix {
		opts.KeyMarker, opts.VersionIDMarker = p.After, p.UploadID
		ch = keyChain{key: p.After, unknown: true}
	}
	for {
		page, err := v.ListObjectVersions(ctx, bc.Bucket, opts)
		if err != nil {
			return err
		}
		for _, ov := range page.Versions {
			if err := r.version(ctx, x, bc, ov, &ch, now, st); err != nil {
				return err
			}
		}
		if n := len(page.Versions); n > 0 {
			p.After, p.UploadID = page.Versions[n-1].Info.Key, page.Versions[n-1].Info.VersionID
			if err := r.saveProgress(ctx, *p); err != nil {
				return err
			}
		}
		if !page.IsTruncated {
			return nil
		}
		opts.KeyMarker, opts.VersionIDMarker = page.NextKeyMarker, page.NextVersionIDMarker
	}
}

// version decides one listed version, given its key's chain so far.
func (r *Runner) version(ctx context.Context, x store.VersionExpirer, bc BucketRules, ov store.ObjectVersion, ch *keyChain, now time.Time, st *Stats) error {
	info := ov.Info
	if info.Key != ch.key {
		*ch = keyChain{key: info.Key}
	}
	defer func() { ch.since = info.LastModified }()
	if ov.IsLatest {
		if !info.DeleteMarker || !bc.Rules.ExpiresMarker(info.Key) {
			return nil
		}
		removed, err := x.ExpireDeleteMarker(ctx, bc.Bucket, info.Key, info.VersionID)
		r.tallyVersion(st, removed)
		return err
	}
	newer := ch.newer
	ch.newer++
	if ch.unknown || !bc.Rules.ExpiresNoncurrent(info.Key, info.Size, ch.since, newer, now) {
		return nil
	}
	removed, err := x.ExpireNoncurrent(ctx, bc.Bucket, info.Key, info.VersionID)
	if r.skipLocked(err, st) {
		return nil
	}
	r.tallyVersion(st, removed)
	return err
}

// skipLocked reports whether err is a version Object Lock keeps
// (store.ErrObjectLocked), counting it: the pass goes on without it.
func (r *Runner) skipLocked(err error, st *Stats) bool {
	if !errors.Is(err, store.ErrObjectLocked) {
		return false
	}
	st.Locked++
	r.metrics.locked.Inc()
	return true
}

// tallyVersion counts a removed version in the pass's stats and metrics.
func (r *Runner) tallyVersion(st *Stats, removed bool) {
	if removed {
		st.Versions++
		r.metrics.versions.Inc()
	}
}
