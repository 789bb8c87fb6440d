package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/store"
)

func (h *Handler) listBuckets(req *request) error {
	all, err := h.engine.ListBuckets(req.ctx)
	if err != nil {
		return err
	}
	res := listAllMyBucketsResult{NS: s3NS, Owner: req.owner(), Buckets: []bucketEntry{}}
	for _, b := range all {
		if !auth.Owns(req.account, b.Owner) {
			continue
		}
		res.Buckets = append(res.Buckets, bucketEntry{Name: b.Name, CreationDate: s3Time(b.Created), BucketRegion: h.bucketRegion(b)})
	}
	writeXML(req.w, res)
	return nil
}

func (h *Handler) bucketRegion(b store.BucketInfo) string {
	if b.Region == "" {
		return h.region
	}
	return b.Region
}

func (h *Handler) createBucket(req *request) error {
	if !validBucketName(req.bucket) {
		return errInvalidBucketName
	}
	if _, err := cannedACL(req.r.Header); err != nil {
		return err
	}
	region := ""
	body, err := io.ReadAll(io.LimitReader(req.r.Body, 64<<10))
	if err != nil {
		return err
	}
	if len(body) > 0 {
		var cfg createBucketConfiguration
		if err := xml.Unmarshal(body, &cfg); err != nil {
			return errMalformedXML
		}
		region = cfg.LocationConstraint
	}
	if region != "" && region != h.region {
		return apiErr(http.StatusBadRequest, "IllegalLocationConstraintException",
			"The %s location constraint is incompatible for the region specific endpoint this request was sent to.", region)
	}
	locked := wantsObjectLock(req.r.Header)
	if _, ok := h.locker(); locked && !ok {
		return errLockCluster
	}
	err = h.engine.CreateBucket(req.ctx, store.BucketInfo{Name: req.bucket, Owner: req.account, Region: h.region, Created: time.Now().UTC()})
	if err != nil {
		return err
	}
	if locked {
		if err := h.createLockedBucket(req); err != nil {
			return err
		}
	}
	if err := h.setBucketACLOnCreate(req); err != nil {
		return err
	}
	req.w.Header().Set("Location", "/"+req.bucket)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucket(req *request) error {
	if err := h.engine.DeleteBucket(req.ctx, req.bucket); err != nil {
		return err
	}
	if err := h.access.forget(context.WithoutCancel(req.ctx), req.bucket); err != nil {
		obs.Logger(req.ctx).Warn("deleted bucket: access settings not removed", "bucket", req.bucket, "err", err)
	}
	if h.kv != nil {
		// Should this fail, the rules still never apply to a new bucket of
		// the name (lifecycleRecord.Created).
		if err := h.kv.Delete(context.WithoutCancel(req.ctx), LifecycleKey(req.bucket)); err != nil && !errors.Is(err, meta.ErrNotFound) {
			obs.Logger(req.ctx).Warn("deleted bucket: lifecycle rules not removed", "bucket", req.bucket, "err", err)
		}
	}
	if h.deleted != nil {
		h.deleted(context.WithoutCancel(req.ctx), req.bucket)
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) headBucket(req *request) error {
	b, err := h.engine.GetBucket(req.ctx, req.bucket)
	if err != nil {
		return err
	}
	req.w.Header().Set("x-amz-bucket-region", h.bucketRegion(b))
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getBucketLocation(req *request) error {
	b, err := h.engine.GetBucket(req.ctx, req.bucket)
	if err != nil {
		return err
	}
	loc := h.bucketRegion(b)
	if loc == sigv4.DefaultRegion {
		loc = "" // S3 reports the default region as an empty constraint
	}
	writeXML(req.w, locationConstraint{NS: s3NS, Value: loc})
	return nil
}
