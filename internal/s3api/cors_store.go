package s3api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// CORSKey is the meta key of bucket's CORS configuration (JSON rules).
// The node deletes it when the bucket is deleted (Config.BucketDeleted).
func CORSKey(bucket string) string { return "cors/" + bucket }

// CORSPrefix is the meta prefix of every bucket's CORS configuration: a
// node caches it (meta.Cached) so requests find a bucket's rules, or that
// it has none, without a store read.
const CORSPrefix = "cors/"

var errNoSuchCORS = &APIError{http.StatusNotFound, "NoSuchCORSConfiguration", "The CORS configuration does not exist"}

func decodeCORS(b []byte) (any, error) {
	var rules []corsRule
	if err := json.Unmarshal(b, &rules); err != nil {
		return nil, err
	}
	return &corsConfig{rules: rules}, nil
}

// cors returns bucket's configuration, or nil when it has none (or the
// handler keeps none: Config.KV is nil). From memory when the store is a
// meta.Cached covering CORSPrefix with TrustAbsence (as the node's is),
// else a store read.
func (h *Handler) cors(ctx context.Context, bucket string) (*corsConfig, error) {
	if h.kv == nil {
		return nil, nil
	}
	v, err := meta.GetDecoded(ctx, h.kv, CORSKey(bucket), decodeCORS)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return v.(*corsConfig), nil
}

// bucketCors serves PutBucketCors, GetBucketCors and DeleteBucketCors
// (the caller has checked that the requester owns the bucket).
func (h *Handler) bucketCors(req *request, op string) error {
	if h.kv == nil {
		return errNotImplemented
	}
	switch op {
	case "GetBucketCors":
		c, err := h.cors(req.ctx, req.bucket)
		if err != nil {
			return err
		}
		if c == nil {
			return errNoSuchCORS
		}
		writeXML(req.w, corsConfiguration{NS: s3NS, Rules: c.rules})
		return nil
	case "DeleteBucketCors":
		if err := h.kv.Delete(req.ctx, CORSKey(req.bucket)); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		req.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return h.putBucketCors(req)
}

func (h *Handler) putBucketCors(req *request) error {
	body, err := io.ReadAll(io.LimitReader(req.r.Body, maxCORSBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxCORSBody {
		return errMalformedXML
	}
	rules, err := parseCORS(body)
	if err != nil {
		return err
	}
	b, err := json.Marshal(rules)
	if err != nil {
		return err
	}
	if err := h.kv.Put(req.ctx, CORSKey(req.bucket), b); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}
