package s3api

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/lifecycle"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store"
)

// LifecyclePrefix is the meta prefix of every bucket's lifecycle rules
// (JSON lifecycle.Rules at LifecyclePrefix+bucket). The node deletes a
// bucket's key with the bucket (Config.BucketDeleted).
const LifecyclePrefix = "lifecycle/"

// LifecycleKey is the meta key of bucket's lifecycle rules.
func LifecycleKey(bucket string) string { return LifecyclePrefix + bucket }

var (
	errNoSuchLifecycle     = &APIError{http.StatusNotFound, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"}
	errLifecycleNotOnStore = apiErr(http.StatusNotImplemented, "NotImplemented", "Lifecycle rules are not available on this store")
	errLifecycleVersions   = apiErr(http.StatusNotImplemented, "NotImplemented",
		"NoncurrentVersionExpiration and ExpiredObjectDeleteMarker rules are not available on this store")
)

// actsOnVersions reports whether a rule acts on noncurrent versions or
// delete markers, which need an engine with versioning.
func actsOnVersions(rs lifecycle.Rules) bool {
	for _, r := range rs {
		if r.NoncurrentDays > 0 || r.ExpiredObjectDeleteMarker {
			return true
		}
	}
	return false
}

// lifecycleRecord is the stored form: the rules and the creation time of
// the bucket they were put on, so rules left behind by a deleted bucket
// (their removal failed) never apply to a new bucket of the same name.
type lifecycleRecord struct {
	Created time.Time       `json:"created"`
	Rules   lifecycle.Rules `json:"rules"`
}

// LifecycleConfigs reads every bucket's lifecycle rules from kv, in
// bucket order, skipping rules of a bucket that is gone or was created
// again since: the lifecycle.Runner's Config.Configs.
func LifecycleConfigs(ctx context.Context, kv meta.Store, engine store.Engine) ([]lifecycle.BucketRules, error) {
	pairs, err := kv.List(ctx, LifecyclePrefix)
	if err != nil {
		return nil, err
	}
	out := make([]lifecycle.BucketRules, 0, len(pairs))
	for _, p := range pairs {
		bucket := strings.TrimPrefix(p.Key, LifecyclePrefix)
		rec, err := currentLifecycle(ctx, engine, bucket, p.Value)
		if errors.Is(err, errNoSuchLifecycle) || errors.Is(err, store.ErrNoSuchBucket) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, lifecycle.BucketRules{Bucket: bucket, Rules: rec.Rules})
	}
	return out, nil
}

// currentLifecycle decodes a stored record of bucket, or answers
// errNoSuchLifecycle when it was put on an earlier bucket of that name.
func currentLifecycle(ctx context.Context, engine store.Engine, bucket string, b []byte) (*lifecycleRecord, error) {
	var rec lifecycleRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	info, err := engine.GetBucket(ctx, bucket)
	if err != nil {
		return nil, err
	}
	if !info.Created.Equal(rec.Created) {
		return nil, errNoSuchLifecycle
	}
	return &rec, nil
}

// lifecycleOp names the lifecycle sub-resource's operations on a bucket;
// "" for any other request.
func lifecycleOp(method, key string, q url.Values) string {
	if key != "" || !q.Has("lifecycle") {
		return ""
	}
	return map[string]string{http.MethodGet: "GetBucketLifecycle", http.MethodPut: "PutBucketLifecycle",
		http.MethodDelete: "DeleteBucketLifecycle"}[method]
}

// bucketLifecycle serves Put/Get/DeleteBucketLifecycle (authorized by
// the caller). Putting rules needs an engine that can expire objects
// (store.Expirer), and one with versioning (store.VersionExpirer, not a
// cluster's yet) for rules on noncurrent versions or delete markers.
func (h *Handler) bucketLifecycle(req *request, op string) error {
	if h.kv == nil {
		return errNotImplemented
	}
	switch op {
	case "GetBucketLifecycle":
		b, err := h.kv.Get(req.ctx, LifecycleKey(req.bucket))
		if errors.Is(err, meta.ErrNotFound) {
			return errNoSuchLifecycle
		}
		if err != nil {
			return err
		}
		rec, err := currentLifecycle(req.ctx, h.engine, req.bucket, b)
		if err != nil {
			return err
		}
		writeXML(req.w, renderLifecycle(rec.Rules))
		return nil
	case "DeleteBucketLifecycle":
		if err := h.kv.Delete(req.ctx, LifecycleKey(req.bucket)); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		req.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if _, ok := h.engine.(store.Expirer); !ok {
		return errLifecycleNotOnStore
	}
	body, err := io.ReadAll(io.LimitReader(req.r.Body, maxLifecycleBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxLifecycleBody {
		return errMalformedXML
	}
	rs, err := parseLifecycle(body)
	if err != nil {
		return err
	}
	if _, ok := h.engine.(store.VersionExpirer); !ok && actsOnVersions(rs) {
		return errLifecycleVersions
	}
	info, err := h.engine.GetBucket(req.ctx, req.bucket)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(lifecycleRecord{Created: info.Created, Rules: rs})
	if err := h.kv.Put(req.ctx, LifecycleKey(req.bucket), b); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// The XML of GetBucketLifecycleConfiguration.
type (
	lifecycleOut struct {
		XMLName xml.Name  `xml:"LifecycleConfiguration"`
		NS      string    `xml:"xmlns,attr"`
		Rules   []ruleOut `xml:"Rule"`
	}
	ruleOut struct {
		ID         string         `xml:"ID,omitempty"`
		Prefix     *string        `xml:"Prefix"` // a rule put with the old top-level Prefix
		Filter     *filterOut     `xml:"Filter,omitempty"`
		Status     string         `xml:"Status"`
		Expiration *expireOut     `xml:"Expiration,omitempty"`
		Noncurrent *noncurrentOut `xml:"NoncurrentVersionExpiration,omitempty"`
		Abort      *abortOut      `xml:"AbortIncompleteMultipartUpload,omitempty"`
	}
	noncurrentOut struct {
		NoncurrentDays          int  `xml:"NoncurrentDays"`
		NewerNoncurrentVersions *int `xml:"NewerNoncurrentVersions,omitempty"`
	}
	abortOut struct {
		DaysAfterInitiation int `xml:"DaysAfterInitiation"`
	}
	filterOut struct {
		Prefix      *string `xml:"Prefix,omitempty"`
		SizeGreater *int64  `xml:"ObjectSizeGreaterThan,omitempty"`
		SizeLess    *int64  `xml:"ObjectSizeLessThan,omitempty"`
		And         *filterOut
	}
	expireOut struct {
		Days                      int    `xml:"Days,omitempty"`
		Date                      string `xml:"Date,omitempty"`
		ExpiredObjectDeleteMarker bool   `xml:"ExpiredObjectDeleteMarker,omitempty"`
	}
)

func renderLifecycle(rs lifecycle.Rules) lifecycleOut {
	out := lifecycleOut{NS: s3NS}
	for _, r := range rs {
		ro := ruleOut{ID: r.ID, Status: "Disabled"}
		if r.LegacyPrefix {
			ro.Prefix = &r.Filter.Prefix
		} else {
			f := renderFilter(r.Filter)
			ro.Filter = &f
		}
		if r.Enabled {
			ro.Status = "Enabled"
		}
		if r.ExpireDays > 0 || !r.ExpireDate.IsZero() || r.ExpiredObjectDeleteMarker {
			ro.Expiration = &expireOut{Days: r.ExpireDays, ExpiredObjectDeleteMarker: r.ExpiredObjectDeleteMarker}
			if !r.ExpireDate.IsZero() {
				ro.Expiration.Date = r.ExpireDate.UTC().Format("2006-01-02T15:04:05.000Z")
			}
		}
		if r.NoncurrentDays > 0 {
			ro.Noncurrent = &noncurrentOut{NoncurrentDays: r.NoncurrentDays}
			if r.NewerNoncurrent > 0 {
				ro.Noncurrent.NewerNoncurrentVersions = &r.NewerNoncurrent
			}
		}
		if r.AbortDays > 0 {
			ro.Abort = &abortOut{r.AbortDays}
		}
		out.Rules = append(out.Rules, ro)
	}
	return out
}

// renderFilter writes one condition as itself and several under And.
func renderFilter(f lifecycle.Filter) filterOut {
	var fo filterOut
	if f.Prefix != "" {
		fo.Prefix = &f.Prefix
	}
	if f.SizeGreater > 0 {
		fo.SizeGreater = &f.SizeGreater
	}
	if f.SizeLess > 0 {
		fo.SizeLess = &f.SizeLess
	}
	if count(fo.Prefix != nil, fo.SizeGreater != nil, fo.SizeLess != nil) > 1 {
		return filterOut{And: &fo}
	}
	if fo.Prefix == nil && fo.SizeGreater == nil && fo.SizeLess == nil {
		fo.Prefix = new(string) // S3 shows an empty filter as an empty Prefix
	}
	return fo
}
