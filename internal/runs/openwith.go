package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store"
)

// ErrNoOpenWith means no app is registered for an object's content type.
var ErrNoOpenWith = errors.New("runs: no app registered to open this content type")

// OpenWith is one bucket's content-type -> app binding (ZeroCloud's
// open-with): GET /BUCKET/KEY?open runs the app registered for the
// object's type.
//
// A binding belongs to one incarnation of its bucket: BucketCreated is the
// bucket's creation time when the binding was made, and a binding whose
// bucket was since deleted and created again (by anyone) is ignored, even
// if ForgetBucket did not run.
type OpenWith struct {
	Bucket        string    `json:"bucket"`
	ContentType   string    `json:"content_type"` // "image/png", "image/*" or "*/*"
	App           string    `json:"app"`
	BucketCreated time.Time `json:"bucket_created"`
}

func openWithPrefix(bucket string) string  { return "openwith/" + bucket + "/" }
func openWithKey(bucket, ct string) string { return openWithPrefix(bucket) + ct }

// current reports whether ow was made for the bucket as it exists now.
// A binding without BucketCreated (written before it was recorded) is
// never current: failing closed beats running a stranger's app.
func (ow *OpenWith) current(b store.BucketInfo) bool {
	return !ow.BucketCreated.IsZero() && ow.BucketCreated.Equal(b.Created)
}

// normalizeType lower-cases a media type and drops its parameters.
func normalizeType(ct string) (string, error) {
	if ct == "*/*" {
		return ct, nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !strings.Contains(mt, "/") {
		return "", fmt.Errorf("%w: content type %q", ErrBadRequest, ct)
	}
	return mt, nil
}

// SetOpenWith binds contentType in bucket to app; the caller must own the
// bucket, and the app must resolve for the caller now.
func (s *Service) SetOpenWith(ctx context.Context, account, bucket, contentType, app string) (OpenWith, error) {
	if err := s.authorize(ctx, Request{Account: account, OutPrefix: &ObjectRef{Bucket: bucket}}); err != nil {
		return OpenWith{}, err
	}
	ct, err := normalizeType(contentType)
	if err != nil {
		return OpenWith{}, err
	}
	if _, err := s.apps.Resolve(ctx, account, app); err != nil {
		return OpenWith{}, err
	}
	info, err := s.engine.GetBucket(ctx, bucket)
	if err != nil {
		return OpenWith{}, err
	}
	ow := OpenWith{Bucket: bucket, ContentType: ct, App: app, BucketCreated: info.Created}
	b, _ := json.Marshal(ow)
	return ow, s.kv.Put(ctx, openWithKey(bucket, ct), b)
}

// RemoveOpenWith drops a binding.
func (s *Service) RemoveOpenWith(ctx context.Context, account, bucket, contentType string) error {
	if err := s.authorize(ctx, Request{Account: account, OutPrefix: &ObjectRef{Bucket: bucket}}); err != nil {
		return err
	}
	ct, err := normalizeType(contentType)
	if err != nil {
		return err
	}
	return s.kv.Delete(ctx, openWithKey(bucket, ct))
}

// ListOpenWith returns a bucket's bindings (those made for the bucket as
// it exists now).
func (s *Service) ListOpenWith(ctx context.Context, account, bucket string) ([]OpenWith, error) {
	if err := s.authorize(ctx, Request{Account: account, OutPrefix: &ObjectRef{Bucket: bucket}}); err != nil {
		return nil, err
	}
	info, err := s.engine.GetBucket(ctx, bucket)
	if err != nil {
		return nil, err
	}
	pairs, err := s.kv.List(ctx, openWithPrefix(bucket))
	if err != nil {
		return nil, err
	}
	out := make([]OpenWith, 0, len(pairs))
	for _, p := range pairs {
		var ow OpenWith
		if err := json.Unmarshal(p.Value, &ow); err == nil && ow.current(info) {
			out = append(out, ow)
		}
	}
	return out, nil
}

// ForgetBucket removes everything this service keeps about bucket (its
// open-with bindings). The S3 face calls it after the bucket is deleted;
// it is idempotent and safe to call concurrently with lookups.
func (s *Service) ForgetBucket(ctx context.Context, bucket string) error {
	if bucket == "" || strings.Contains(bucket, "/") {
		return fmt.Errorf("%w: bucket %q", ErrBadRequest, bucket)
	}
	pairs, err := s.kv.List(ctx, openWithPrefix(bucket))
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if err := s.kv.Delete(ctx, p.Key); err != nil {
			return err
		}
	}
	return nil
}

// LookupOpenWith finds the app for contentType in bucket: the exact type,
// then "type/*", then "*/*". Bindings made for an earlier bucket of the
// same name are skipped.
func (s *Service) LookupOpenWith(ctx context.Context, bucket, contentType string) (string, error) {
	info, err := s.engine.GetBucket(ctx, bucket)
	if err != nil {
		return "", err
	}
	ct, err := normalizeType(contentType)
	if err != nil {
		ct = "application/octet-stream"
	}
	major, _, _ := strings.Cut(ct, "/")
	for _, k := range []string{ct, major + "/*", "*/*"} {
		b, err := s.kv.Get(ctx, openWithKey(bucket, k))
		if errors.Is(err, meta.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		var ow OpenWith
		if err := json.Unmarshal(b, &ow); err != nil {
			return "", err
		}
		if !ow.current(info) {
			continue
		}
		return ow.App, nil
	}
	return "", ErrNoOpenWith
}
