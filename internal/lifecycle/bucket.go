package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store"
)

// progress is how far the current pass got: the bucket, the phase within
// it ("objects", "versions", then "uploads") and the last key (and upload
// or version id) done. The zero progress is "nothing started".
type progress struct {
	Bucket   string `json:"bucket,omitempty"`
	Phase    string `json:"phase,omitempty"`
	After    string `json:"after,omitempty"`
	UploadID string `json:"upload_id,omitempty"` // or version id, phase versions
}

const (
	phaseObjects  = "objects"
	phaseVersions = "versions"
	phaseUploads  = "uploads"
)

func (r *Runner) loadProgress(ctx context.Context) (progress, error) {
	var p progress
	b, err := r.cfg.KV.Get(ctx, ProgressKey)
	if errors.Is(err, meta.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		r.cfg.Logger.Warn("lifecycle: unreadable progress; starting the pass over", "err", err)
		return progress{}, nil
	}
	return p, nil
}

// saveProgress records p; the zero progress deletes the record.
func (r *Runner) saveProgress(ctx context.Context, p progress) error {
	if p == (progress{}) {
		if err := r.cfg.KV.Delete(ctx, ProgressKey); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		return nil
	}
	b, _ := json.Marshal(p)
	return r.cfg.KV.Put(ctx, ProgressKey, b)
}

// bucketPass applies bc's rules to its current objects, its noncurrent
// versions and delete markers, then its uploads, starting from p when p
// names this bucket.
func (r *Runner) bucketPass(ctx context.Context, bc BucketRules, p *progress, now time.Time, st *Stats) error {
	if p.Bucket != bc.Bucket {
		*p = progress{Bucket: bc.Bucket, Phase: phaseObjects}
	}
	phases := []struct {
		name string
		acts func(Rule) bool
		run  func(ctx context.Context, bc BucketRules, prefix string, p *progress, now time.Time, st *Stats) error
	}{
		{phaseObjects, ExpiresObjects, r.expireObjects},
		{phaseVersions, ExpiresVersions, r.expireVersions},
		{phaseUploads, AbortsUploads, r.abortUploads},
	}
	started := false
	for _, ph := range phases {
		if !started && ph.name != p.Phase {
			continue // done before the restart
		}
		if started {
			*p = progress{Bucket: bc.Bucket, Phase: ph.name}
		}
		started = true
		for _, prefix := range bc.Rules.Prefixes(ph.acts) {
			if err := ph.run(ctx, bc, prefix, p, now, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// expireObjects walks the current objects under prefix (from p.After
// when resuming) a page at a time, expiring what the rules say, and
// records its progress after each page.
func (r *Runner) expireObjects(ctx context.Context, bc BucketRules, prefix string, p *progress, now time.Time, st *Stats) error {
	opts := store.ListOptions{Prefix: prefix, MaxKeys: r.cfg.PageSize}
	if p.After > prefix {
		opts.After = p.After
	}
	for {
		page, err := r.cfg.Engine.ListObjects(ctx, bc.Bucket, opts)
		if err != nil {
			return err
		}
		for _, o := range page.Objects {
			if !bc.Rules.ExpiresCurrent(o.Key, o.Size, o.LastModified, now) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			done, err := finish(ctx, func(ctx context.Context) (bool, error) {
				return r.exp.ExpireObject(ctx, bc.Bucket, o.Key, o)
			})
			if done { // also with an error: removed, not yet everywhere (a cluster's replicas)
				st.Expired++
				r.metrics.expired.Inc()
			}
			if r.skipLocked(err, st) {
				continue
			}
			if err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err // the page is not done: the next pass does it again
		}
		if len(page.Objects) > 0 {
			p.After = page.Objects[len(page.Objects)-1].Key
			if err := r.saveProgress(ctx, *p); err != nil {
				return err
			}
		}
		if !page.IsTruncated {
			return nil
		}
		opts.After = page.NextAfter
	}
}

// abortUploads aborts the uploads under prefix the rules say are stale.
func (r *Runner) abortUploads(ctx context.Context, bc BucketRules, prefix string, p *progress, now time.Time, st *Stats) error {
	opts := store.ListUploadsOptions{Prefix: prefix, MaxUploads: r.cfg.PageSize}
	if p.After > prefix {
		opts.KeyMarker, opts.UploadIDMarker = p.After, p.UploadID
	}
	for {
		page, err := r.cfg.Engine.ListMultipartUploads(ctx, bc.Bucket, opts)
		if err != nil {
			return err
		}
		for _, u := range page.Uploads {
			if !bc.Rules.AbortsUpload(u.Key, u.Initiated, now) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			_, err := finish(ctx, func(ctx context.Context) (bool, error) {
				return true, r.cfg.Engine.AbortMultipartUpload(ctx, bc.Bucket, u.Key, u.UploadID)
			})
			if err != nil && !errors.Is(err, store.ErrNoSuchUpload) {
				return err
			}
			if err == nil {
				st.Aborted++
				r.metrics.aborted.Inc()
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if n := len(page.Uploads); n > 0 {
			p.After, p.UploadID = page.Uploads[n-1].Key, page.Uploads[n-1].UploadID
			if err := r.saveProgress(ctx, *p); err != nil {
				return err
			}
		}
		if !page.IsTruncated {
			return nil
		}
		opts.KeyMarker, opts.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
	}
}

// finishTimeout bounds one expiration or abort that the pass's context
// no longer bounds (see finish).
const finishTimeout = 30 * time.Second

// finish runs one expiration or abort to its end even when ctx is
// cancelled meanwhile (Close, or a cluster's leadership lost), within
// finishTimeout: a removal that began is completed and counted, rather
// than left half done on some replicas and counted nowhere.
func finish(ctx context.Context, fn func(context.Context) (bool, error)) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	return fn(ctx)
}
