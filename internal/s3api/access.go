package s3api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/auth/policy"
	"github.com/insitu-cloud/insitu/internal/meta"
)

// AccessPrefix is where a bucket's access settings live in meta: one key
// "s3access/<bucket>" holding its policy, canned ACL and
// PublicAccessBlock as JSON. A node caches the prefix (meta.Cached with
// TrustAbsence), so the decision reads no store on a request.
const AccessPrefix = "s3access/"

// accessRecord is the stored form of a bucket's access settings.
type accessRecord struct {
	Policy string                  `json:"policy,omitempty"` // as the owner put it
	ACL    string                  `json:"acl,omitempty"`    // canned; "" is private
	Block  *auth.PublicAccessBlock `json:"block,omitempty"`
}

// accessEntry is a decoded accessRecord, shared read-only between requests.
type accessEntry struct {
	rec    accessRecord
	policy *policy.Policy
	acl    auth.Grants
}

// accessStore reads and changes bucket access settings in kv. A nil kv
// keeps no settings: every bucket is private and the settings' PUTs
// answer NotImplemented. Safe for concurrent use.
type accessStore struct{ kv meta.Store }

func accessKey(bucket string) string { return AccessPrefix + bucket }

// decodeAccess is the one decode of an access key (meta.Decoder needs it).
func decodeAccess(bucket string) func([]byte) (any, error) {
	return func(b []byte) (any, error) {
		e := &accessEntry{}
		if err := json.Unmarshal(b, &e.rec); err != nil {
			return nil, err
		}
		if e.rec.Policy != "" {
			p, err := policy.Parse([]byte(e.rec.Policy), bucket)
			if err != nil {
				return nil, err
			}
			e.policy = p
		}
		e.acl = cannedGrants[e.rec.ACL]
		return e, nil
	}
}

// get returns bucket's settings; none stored is the zero entry.
func (s accessStore) get(ctx context.Context, bucket string) (*accessEntry, error) {
	if s.kv == nil {
		return &accessEntry{}, nil
	}
	var v any
	var err error
	if d, ok := s.kv.(meta.Decoder); ok {
		v, err = d.Decoded(ctx, accessKey(bucket), decodeAccess(bucket))
	} else {
		var b []byte
		if b, err = s.kv.Get(ctx, accessKey(bucket)); err == nil {
			v, err = decodeAccess(bucket)(b)
		}
	}
	if errors.Is(err, meta.ErrNotFound) {
		return &accessEntry{}, nil
	}
	if err != nil {
		return nil, err
	}
	return v.(*accessEntry), nil
}

var errNoAccessStore = apiErr(http.StatusNotImplemented, "NotImplemented", "This node keeps no bucket access settings")

// update changes bucket's record with fn under compare-and-swap, retried
// on conflict; an empty record is deleted.
func (s accessStore) update(ctx context.Context, bucket string, fn func(*accessRecord) error) error {
	if s.kv == nil {
		return errNoAccessStore
	}
	for try := 0; try < 16; try++ {
		old, err := s.kv.Get(ctx, accessKey(bucket))
		if errors.Is(err, meta.ErrNotFound) {
			old, err = nil, nil
		}
		if err != nil {
			return err
		}
		var rec accessRecord
		if old != nil {
			if err := json.Unmarshal(old, &rec); err != nil {
				return err
			}
		}
		if err := fn(&rec); err != nil {
			return err
		}
		var next []byte
		if rec != (accessRecord{}) {
			next, _ = json.Marshal(rec)
		}
		err = s.kv.CompareAndSwap(ctx, accessKey(bucket), old, next)
		if !errors.Is(err, meta.ErrConflict) {
			return err
		}
	}
	return errors.New("s3api: bucket access settings changed too often to update")
}

// forget removes bucket's settings (after DeleteBucket, and before a
// bucket of the same name is created, so nothing of an old bucket's
// grants carries over).
func (s accessStore) forget(ctx context.Context, bucket string) error {
	if s.kv == nil {
		return nil
	}
	err := s.kv.Delete(ctx, accessKey(bucket))
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	return err
}

// cannedGrants maps the canned ACLs insitu keeps to their grants.
// bucket-owner-read and bucket-owner-full-control add nothing here: the
// bucket's owner owns every object in it.
var cannedGrants = map[string]auth.Grants{
	"": 0, "private": 0, "bucket-owner-read": 0, "bucket-owner-full-control": 0,
	"public-read":        auth.AllUsersRead,
	"public-read-write":  auth.AllUsersRead | auth.AllUsersWrite,
	"authenticated-read": auth.AuthenticatedRead,
}

// cannedACL reads x-amz-acl: "" when absent, or a canned name insitu
// keeps. Grant headers (x-amz-grant-*) answer NotImplemented.
func cannedACL(h http.Header) (string, error) {
	for k := range h {
		if len(k) > 12 && http.CanonicalHeaderKey(k)[:12] == "X-Amz-Grant-" {
			return "", apiErr(http.StatusNotImplemented, "NotImplemented", "x-amz-grant-* headers are not implemented; use a canned ACL (x-amz-acl)")
		}
	}
	v := h.Get("x-amz-acl")
	if v == "aws-exec-read" || v == "log-delivery-write" {
		return "", apiErr(http.StatusNotImplemented, "NotImplemented", "The canned ACL %s is not implemented", v)
	}
	if _, ok := cannedGrants[v]; !ok || v == "" && len(h.Values("x-amz-acl")) > 0 {
		return "", apiErr(http.StatusBadRequest, "InvalidArgument", "Invalid canned ACL: %q", v)
	}
	return v, nil
}
