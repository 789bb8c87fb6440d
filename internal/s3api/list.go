package s3api

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/insitu-cloud/insitu/internal/store"
)

// maxKeysParam parses max-keys style parameters: default def, capped at 1000.
func maxKeysParam(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, apiErr(http.StatusBadRequest, "InvalidArgument", "Provided %s not an integer or within integer range", name)
	}
	return min(n, 1000), nil
}

// encoder returns the key encoding for encoding-type.
func encoder(q url.Values) (func(string) string, string, error) {
	switch et := q.Get("encoding-type"); et {
	case "":
		return func(s string) string { return s }, "", nil
	case "url":
		return s3URLEncode, "url", nil
	default:
		return nil, "", apiErr(http.StatusBadRequest, "InvalidArgument", "Invalid Encoding Method specified in Request")
	}
}

// s3URLEncode encodes a key for encoding-type=url as S3 does: every byte
// but the RFC 3986 unreserved characters and '/' becomes %XX (a space is
// %20, a '+' is %2B), which both query and path unescaping reverse.
func s3URLEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// listPage reads one page of a bucket listing; max-keys=0 asks for none.
func (h *Handler) listPage(req *request, opts store.ListOptions) (store.ListResult, error) {
	if opts.MaxKeys == 0 {
		return store.ListResult{}, nil
	}
	return h.engine.ListObjects(req.ctx, req.bucket, opts)
}

// listParams are what every listing reads from its query the same way:
// the page size (under its own name, default and cap 1000) and the key
// encoding (encoding-type).
type listParams struct {
	max     int
	enc     func(string) string
	encType string
}

func parseListParams(q url.Values, maxName string) (listParams, error) {
	n, err := maxKeysParam(q, maxName, 1000)
	if err != nil {
		return listParams{}, err
	}
	enc, encType, err := encoder(q)
	return listParams{n, enc, encType}, err
}

// commonPrefixes encodes a page's rolled-up prefixes.
func commonPrefixes(enc func(string) string, ps []string) []commonPrefix {
	var out []commonPrefix
	for _, p := range ps {
		out = append(out, commonPrefix{Prefix: enc(p)})
	}
	return out
}

func (h *Handler) listObjects(req *request, version int) error {
	q := req.q
	lp, err := parseListParams(q, "max-keys")
	if err != nil {
		return err
	}
	enc := lp.enc
	opts := store.ListOptions{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), MaxKeys: lp.max}
	res := listBucketResult{NS: s3NS, Name: req.bucket, Prefix: enc(opts.Prefix), MaxKeys: lp.max,
		Delimiter: enc(opts.Delimiter), EncodingType: lp.encType}
	if err := listStart(q, version, enc, &res, &opts); err != nil {
		return err
	}
	page, err := h.listPage(req, opts)
	if err != nil {
		return err
	}
	var o *owner
	if version == 1 || q.Get("fetch-owner") == "true" {
		ro := req.owner()
		o = &ro
	}
	for _, obj := range page.Objects {
		res.Contents = append(res.Contents, objectEntry{Key: enc(obj.Key), LastModified: s3Time(obj.LastModified),
			ETag: quoteETag(obj.ETag), Size: obj.Size, Owner: o, StorageClass: "STANDARD",
			ChecksumAlgorithm: obj.Checksum.Algorithm, ChecksumType: obj.Checksum.Type})
	}
	res.CommonPrefixes = commonPrefixes(enc, page.CommonPrefixes)
	res.IsTruncated = page.IsTruncated
	if version == 2 {
		n := len(res.Contents) + len(res.CommonPrefixes)
		res.KeyCount = &n
		if page.IsTruncated {
			res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(page.NextAfter))
		}
	} else if page.IsTruncated && opts.Delimiter != "" {
		res.NextMarker = enc(page.NextAfter)
	}
	writeXML(req.w, res)
	return nil
}

// listStart sets where a listing starts: ListObjects' marker, or
// ListObjectsV2's start-after and continuation token (the token wins),
// echoing each into res as S3 does.
func listStart(q url.Values, version int, enc func(string) string, res *listBucketResult, opts *store.ListOptions) error {
	if version != 2 {
		m := q.Get("marker")
		res.Marker = &m
		opts.After = m
		return nil
	}
	res.StartAfter = enc(q.Get("start-after"))
	opts.After = q.Get("start-after")
	if !q.Has("continuation-token") {
		return nil
	}
	tok := q.Get("continuation-token")
	res.ContinuationToken = &tok // echoed even when empty, as S3 does
	if tok == "" {
		return nil
	}
	after, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return apiErr(http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
	}
	opts.After = string(after)
	return nil
}

// listObjectVersions lists an unversioned bucket: every object is its only
// version, with VersionId "null". An engine with versioning lists through
// listVersions.
func (h *Handler) listObjectVersions(req *request) error {
	if v, ok := h.versioned(); ok {
		return h.listVersions(req, v)
	}
	q := req.q
	lp, err := parseListParams(q, "max-keys")
	if err != nil {
		return err
	}
	enc := lp.enc
	opts := store.ListOptions{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), MaxKeys: lp.max, After: q.Get("key-marker")}
	res := listVersionsResult{NS: s3NS, Name: req.bucket, Prefix: enc(opts.Prefix), KeyMarker: enc(opts.After),
		VersionIDMarker: q.Get("version-id-marker"), MaxKeys: lp.max, Delimiter: enc(opts.Delimiter), EncodingType: lp.encType}
	page, err := h.listPage(req, opts)
	if err != nil {
		return err
	}
	o := req.owner()
	for _, obj := range page.Objects {
		v := versionEntry{Key: enc(obj.Key), VersionID: "null", IsLatest: true, LastModified: s3Time(obj.LastModified),
			ETag: quoteETag(obj.ETag), Size: obj.Size, Owner: o, StorageClass: "STANDARD"}
		v.XMLName.Local = "Version"
		res.Versions = append(res.Versions, v)
	}
	res.CommonPrefixes = commonPrefixes(enc, page.CommonPrefixes)
	res.IsTruncated = page.IsTruncated
	if page.IsTruncated {
		res.NextKeyMarker = enc(page.NextAfter)
		res.NextVersionIDMarker = "null"
	}
	writeXML(req.w, res)
	return nil
}

func (h *Handler) listMultipartUploads(req *request) error {
	q := req.q
	lp, err := parseListParams(q, "max-uploads")
	if err != nil {
		return err
	}
	enc := lp.enc
	opts := store.ListUploadsOptions{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), UploadIDMarker: q.Get("upload-id-marker"), MaxUploads: lp.max}
	res := listMultipartUploadsResult{NS: s3NS, Bucket: req.bucket, KeyMarker: enc(opts.KeyMarker), UploadIDMarker: opts.UploadIDMarker,
		Prefix: enc(opts.Prefix), Delimiter: enc(opts.Delimiter), MaxUploads: lp.max, EncodingType: lp.encType}
	if lp.max > 0 {
		page, err := h.engine.ListMultipartUploads(req.ctx, req.bucket, opts)
		if err != nil {
			return err
		}
		o := req.owner()
		for _, u := range page.Uploads {
			res.Uploads = append(res.Uploads, uploadEntry{Key: enc(u.Key), UploadID: u.UploadID, Initiator: o, Owner: o,
				StorageClass: "STANDARD", Initiated: s3Time(u.Initiated), ChecksumAlgorithm: u.ChecksumAlgorithm})
		}
		res.CommonPrefixes = commonPrefixes(enc, page.CommonPrefixes)
		res.IsTruncated = page.IsTruncated
		res.NextKeyMarker = enc(page.NextKeyMarker)
		res.NextUploadIDMarker = page.NextUploadIDMarker
	}
	writeXML(req.w, res)
	return nil
}
