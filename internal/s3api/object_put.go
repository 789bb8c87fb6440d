package s3api

import (
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/store"
)

// maxPutSize is S3's limit for a single PUT.
const maxPutSize = 5 << 30

func quoteETag(etag string) string { return `"` + etag + `"` }

// maxUserMeta is S3's limit on user metadata: the sum of the byte lengths
// of every x-amz-meta-* name (without the prefix) and value.
const maxUserMeta = 2 << 10

var errMetadataTooLarge = &APIError{http.StatusBadRequest, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size."}

// metaFromHeaders reads the stored object metadata from request headers. It
// answers MetadataTooLarge when the user metadata is over 2 KB.
func metaFromHeaders(h http.Header) (store.ObjectMeta, error) {
	m := store.ObjectMeta{
		ContentType:        h.Get("Content-Type"),
		ContentEncoding:    stripAWSChunked(h.Get("Content-Encoding")),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage:    h.Get("Content-Language"),
		CacheControl:       h.Get("Cache-Control"),
		Expires:            h.Get("Expires"),
	}
	if m.ContentType == "" {
		m.ContentType = "binary/octet-stream"
	}
	m.ACL = objectACL(h)
	size := 0
	for k, v := range h {
		lk := strings.ToLower(k)
		if name, ok := strings.CutPrefix(lk, "x-amz-meta-"); ok && name != "" {
			if m.User == nil {
				m.User = map[string]string{}
			}
			m.User[name] = strings.Join(v, ",")
			if size += len(name) + len(m.User[name]); size > maxUserMeta {
				return store.ObjectMeta{}, errMetadataTooLarge
			}
		}
	}
	return m, nil
}

// stripAWSChunked removes the aws-chunked coding, which describes the
// transfer, not the object.
func stripAWSChunked(ce string) string {
	if ce == "" {
		return ""
	}
	var keep []string
	for _, p := range strings.Split(ce, ",") {
		if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, "aws-chunked") {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ",")
}

// bodySize is the decoded length of the request body, -1 for a body sent
// with plain HTTP chunking (Transfer-Encoding: chunked, no Content-Length),
// which it caps at maxPutSize (EntityTooLarge beyond), or an S3 error when
// the client declared neither.
func bodySize(req *request) (int64, error) {
	n := req.auth.DecodedLength
	if n < 0 {
		if !slices.Contains(req.r.TransferEncoding, "chunked") {
			return 0, errMissingLength
		}
		req.r.Body = &cappedBody{ReadCloser: req.r.Body, left: maxPutSize}
		return -1, nil
	}
	if n > maxPutSize {
		return 0, errEntityTooLarge
	}
	return n, nil
}

// cappedBody fails with EntityTooLarge once more than left bytes arrive.
type cappedBody struct {
	io.ReadCloser
	left int64
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errEntityTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.ReadCloser.Read(p)
	if c.left -= int64(n); c.left < 0 {
		return 0, errEntityTooLarge
	}
	return n, err
}

// contentMD5 decodes Content-MD5; nil when absent.
func contentMD5(h http.Header) ([]byte, error) {
	v := h.Get("Content-MD5")
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != 16 {
		return nil, errInvalidDigest
	}
	return b, nil
}

// checksumRequest resolves which additional checksum a write asks for and
// where its expected value comes from: an x-amz-checksum-* header, an
// aws-chunked trailer, or nowhere (the algorithm header alone asks insitu to
// compute and store it).
func checksumRequest(req *request) (alg string, expected func() string, err error) {
	h := req.r.Header
	invalidAlg := apiErr(http.StatusBadRequest, "InvalidRequest", "Value for x-amz-checksum-algorithm header is invalid.")
	if a := firstNonEmpty(h.Get("x-amz-sdk-checksum-algorithm"), h.Get("x-amz-checksum-algorithm")); a != "" {
		ca, ok := checksum.Canonical(a)
		if !ok {
			return "", nil, invalidAlg
		}
		alg = ca
	}
	var found []string
	for k := range h {
		lk := strings.ToLower(k)
		name, ok := strings.CutPrefix(lk, "x-amz-checksum-")
		if !ok || name == "algorithm" || name == "mode" || name == "type" {
			continue
		}
		found = append(found, name)
	}
	if len(found) > 1 {
		return "", nil, apiErr(http.StatusBadRequest, "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	}
	if len(found) == 1 {
		ca, ok := checksum.Canonical(found[0])
		if !ok {
			return "", nil, invalidAlg
		}
		if alg != "" && alg != ca {
			return "", nil, apiErr(http.StatusBadRequest, "InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
		alg = ca
		v := h.Get(checksum.HeaderName(ca))
		if !checksum.ValidValue(ca, v) {
			return "", nil, apiErr(http.StatusBadRequest, "InvalidRequest", "Value for %s header is invalid.", checksum.HeaderName(ca))
		}
		return alg, func() string { return v }, nil
	}
	if tr := strings.TrimSpace(h.Get("x-amz-trailer")); tr != "" {
		name, ok := strings.CutPrefix(strings.ToLower(tr), "x-amz-checksum-")
		ca, known := checksum.Canonical(name)
		if !ok || !known {
			return "", nil, apiErr(http.StatusBadRequest, "InvalidRequest", "The value specified in the x-amz-trailer header is not supported")
		}
		if alg != "" && alg != ca {
			return "", nil, apiErr(http.StatusBadRequest, "InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
		trailer := req.auth.Trailer
		return ca, func() string {
			if trailer == nil {
				return ""
			}
			// Trailer names are kept lower-case; index the map directly.
			if v := trailer()[checksum.HeaderName(ca)]; len(v) > 0 {
				return v[0]
			}
			return ""
		}, nil
	}
	return alg, nil, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// putOptions collects the PutOptions common to PutObject and UploadPart.
func putOptions(req *request) (store.PutOptions, error) {
	md5, err := contentMD5(req.r.Header)
	if err != nil {
		return store.PutOptions{}, err
	}
	alg, expected, err := checksumRequest(req)
	if err != nil {
		return store.PutOptions{}, err
	}
	return store.PutOptions{MD5: md5, ChecksumAlgorithm: alg, ExpectedChecksum: expected}, nil
}

func setChecksumHeader(w http.ResponseWriter, c store.Checksum) {
	if c.Algorithm != "" && c.Value != "" {
		w.Header().Set(checksum.HeaderName(c.Algorithm), c.Value)
		if c.Type != "" {
			w.Header().Set("x-amz-checksum-type", c.Type)
		}
	}
}

func (h *Handler) putObject(req *request) error {
	size, err := bodySize(req)
	if err != nil {
		return err
	}
	opts, err := putOptions(req)
	if err != nil {
		return err
	}
	if opts.Meta, err = metaFromHeaders(req.r.Header); err != nil {
		return err
	}
	if err := h.writeLock(req, &opts.Meta, true); err != nil {
		return err
	}
	opts.IfNoneMatchStar = strings.TrimSpace(req.r.Header.Get("If-None-Match")) == "*"
	info, err := h.engine.PutObject(req.ctx, req.bucket, req.key, req.r.Body, size, opts)
	if err != nil {
		return err
	}
	req.w.Header().Set("ETag", quoteETag(info.ETag))
	setVersionHeader(req.w, info.VersionID)
	setChecksumHeader(req.w, info.Checksum)
	req.w.WriteHeader(http.StatusOK)
	return nil
}
