package ui

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/insitu-cloud/insitu/internal/auth"
)

// Upload sizes: a file up to SinglePutMax goes in one presigned PUT;
// a larger one in parts of PartSize (grown so there are at most maxParts).
const (
	SinglePutMax = 16 << 20
	PartSize     = 8 << 20
	maxParts     = 10000
	maxUpload    = 5 << 40 // S3's largest object
	// presignTTL is how long a presigned upload URL stays valid.
	presignTTL = time.Hour
)

// presignRequest is the upload script's question. Without UploadID it
// asks how to start; with it, for the part and completion URLs.
type presignRequest struct {
	Key      string `json:"key"`
	Size     int64  `json:"size"`
	Type     string `json:"type"`
	UploadID string `json:"upload_id"`
}

// parsePresign reads and checks the upload script's question: a key of
// 1 to 1024 bytes of UTF-8, a size from 0 to 5 TiB, a content type
// (default application/octet-stream) of at most 256 bytes.
func parsePresign(r io.Reader) (presignRequest, error) {
	var q presignRequest
	bad := &userError{status: http.StatusBadRequest, msg: "The upload request was not understood."}
	if err := json.NewDecoder(r).Decode(&q); err != nil {
		return q, bad
	}
	if q.Key == "" || len(q.Key) > 1024 || !utf8.ValidString(q.Key) || q.Size < 0 || q.Size > maxUpload || len(q.Type) > 256 || len(q.UploadID) > 1024 {
		return q, bad
	}
	if q.Type == "" {
		q.Type = "application/octet-stream"
	}
	return q, nil
}

// presignAnswer is what the script does next: one PUT; or create a
// multipart upload; or PUT the parts then POST the completion.
type presignAnswer struct {
	Put      string   `json:"put,omitempty"`
	Create   string   `json:"create,omitempty"`
	Parts    []string `json:"parts,omitempty"`
	PartSize int64    `json:"part_size,omitempty"`
	Complete string   `json:"complete,omitempty"`
}

// presign answers the upload script with URLs presigned with the
// session's key, for the S3 face of this same host; the secret stays here.
func (h *Handler) presign(c *call) error {
	bucket := c.r.PathValue("bucket")
	if err := auth.OwnsBucket(c.ctx, h.cfg.Engine, c.s.accountID, bucket); err != nil {
		return err
	}
	q, err := parsePresign(c.r.Body)
	if err != nil {
		return err
	}
	p, err := h.presigner(c)
	if err != nil {
		return err
	}
	ans, err := presignFor(c.ctx, p, bucket, q)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, ans)
	return nil
}

// signer presigns URLs for the S3 face, which signs paths as sent.
type signer struct {
	v4     *v4.Signer
	creds  aws.Credentials
	base   string // scheme://host of this request
	region string
	now    time.Time
}

// presigner signs with the session's key for this request's host.
func (h *Handler) presigner(c *call) (*signer, error) {
	cred, err := h.cfg.Accounts.Lookup(c.ctx, c.s.accessKey)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return &signer{v4: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		creds: aws.Credentials{AccessKeyID: cred.AccessKey, SecretAccessKey: cred.Secret},
		base:  scheme + "://" + c.r.Host, region: h.cfg.Region, now: h.cfg.Now()}, nil
}

// url presigns method on bucket/key with query and, when set, a signed
// Content-Type, valid for presignTTL, with an unsigned payload.
func (s *signer) url(ctx context.Context, method, bucket, key string, query url.Values, contentType string) (string, error) {
	u, err := url.Parse(s.base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + bucket + "/" + key
	u.RawPath = "/" + bucket + "/" + s3Escape(key)
	query.Set("X-Amz-Expires", strconv.Itoa(int(presignTTL/time.Second)))
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return "", err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	signed, _, err := s.v4.PresignHTTP(ctx, s.creds, req, "UNSIGNED-PAYLOAD", "s3", s.region, s.now)
	return signed, err
}

// s3Escape percent-encodes a key for a URL path the way SigV4 does:
// RFC 3986 unreserved bytes and '/' stay, every other byte is %XX.
func s3Escape(key string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// partSize is the part size for an upload of size bytes.
func partSize(size int64) int64 {
	ps := int64(PartSize)
	for size > ps*maxParts {
		ps *= 2
	}
	return ps
}

func presignFor(ctx context.Context, s *signer, bucket string, q presignRequest) (ans presignAnswer, err error) {
	switch {
	case q.Size <= SinglePutMax:
		ans.Put, err = s.url(ctx, http.MethodPut, bucket, q.Key, url.Values{}, q.Type)
		return ans, err
	case q.UploadID == "":
		ans.Create, err = s.url(ctx, http.MethodPost, bucket, q.Key, url.Values{"uploads": {""}}, q.Type)
		return ans, err
	}
	ans.PartSize = partSize(q.Size)
	for n := 1; int64(n-1)*ans.PartSize < q.Size; n++ {
		u, err := s.url(ctx, http.MethodPut, bucket, q.Key, url.Values{"partNumber": {strconv.Itoa(n)}, "uploadId": {q.UploadID}}, "")
		if err != nil {
			return ans, err
		}
		ans.Parts = append(ans.Parts, u)
	}
	ans.Complete, err = s.url(ctx, http.MethodPost, bucket, q.Key, url.Values{"uploadId": {q.UploadID}}, "")
	return ans, err
}
