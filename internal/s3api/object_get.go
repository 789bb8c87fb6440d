package s3api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// parseRange parses a single "bytes=" range. ok is false for anything S3
// ignores (syntax it does not accept or several ranges): the whole object is
// served then.
func parseRange(v string) (rng store.Range, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return store.Range{}, false
	}
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return store.Range{}, false
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return store.Range{}, false
		}
		return store.Range{Suffix: n}, true
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return store.Range{}, false
	}
	end := int64(-1)
	if last != "" {
		end, err = strconv.ParseInt(last, 10, 64)
		if err != nil || end < start {
			return store.Range{}, false
		}
	}
	return store.Range{Start: start, End: end}, true
}

// checkConditions evaluates If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since (RFC 9110 order, as S3 does) for a read. The header names
// are prefixed with prefix ("" or "x-amz-copy-source-").
func checkConditions(hdr http.Header, prefix string, info store.ObjectInfo, isRead bool) error {
	get := func(n string) string { return hdr.Get(prefix + n) }
	lm := info.LastModified.Truncate(time.Second)
	etag := quoteETag(info.ETag)
	matched := false
	if v := get("If-Match"); v != "" {
		if !etagMatches(v, etag) {
			return errPreconditionFailed
		}
		matched = true
	} else if v := get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && lm.After(t) {
			return errPreconditionFailed
		}
	}
	notModified := errNotModified
	if !isRead {
		notModified = errPreconditionFailed
	}
	if v := get("If-None-Match"); v != "" {
		if etagMatches(v, etag) {
			return notModified
		}
	} else if v := get("If-Modified-Since"); v != "" && !matched {
		if t, err := http.ParseTime(v); err == nil && !lm.After(t) {
			return notModified
		}
	}
	return nil
}

// errNotModified is the 304 answer to a conditional GET or HEAD.
var errNotModified = &APIError{Status: http.StatusNotModified, Code: "NotModified", Message: "Not Modified"}

func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimSpace(v)
		v = strings.TrimPrefix(v, "W/")
		if v == "*" || v == etag || `"`+v+`"` == etag {
			return true
		}
	}
	return false
}

// setObjectHeaders writes the stored metadata of info (not its version),
// with the lock state it holds (see Handler.visibleLock for what a
// caller may see).
func setObjectHeaders(w http.ResponseWriter, info store.ObjectInfo) {
	h := w.Header()
	m := info.Meta
	h.Set("ETag", quoteETag(info.ETag))
	h.Set("Last-Modified", info.LastModified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", firstNonEmpty(m.ContentType, "binary/octet-stream"))
	for k, v := range map[string]string{"Content-Encoding": m.ContentEncoding, "Content-Disposition": m.ContentDisposition,
		"Content-Language": m.ContentLanguage, "Cache-Control": m.CacheControl, "Expires": m.Expires} {
		if v != "" {
			h.Set(k, v)
		}
	}
	for k, v := range m.User {
		h["X-Amz-Meta-"+k] = []string{v}
	}
	setLockHeaders(w, m)
}

// responseOverrides are the response-* query parameters of GetObject.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

// errInvalidPartNumber answers a partNumber beyond the object's parts, as
// S3 does (400, not 416).
var errInvalidPartNumber = &APIError{http.StatusBadRequest, "InvalidPartNumber", "The requested partnumber is not satisfiable"}

// partRange returns the byte range of part n of info.
func partRange(info store.ObjectInfo, n int) (store.Range, error) {
	if len(info.Parts) == 0 {
		if n == 1 {
			return store.Range{Start: 0, End: -1}, nil
		}
		return store.Range{}, errInvalidPartNumber
	}
	var off int64
	for _, p := range info.Parts {
		if p.Number == n {
			return store.Range{Start: off, End: off + p.Size - 1}, nil
		}
		off += p.Size
	}
	return store.Range{}, errInvalidPartNumber
}

func (h *Handler) getObject(req *request, head bool) error {
	vid, err := versionParam(req)
	if err != nil {
		return err
	}
	// The object may be replaced between reading its metadata and opening
	// it; retry a few times so headers and bytes always describe one version.
	for attempt := 0; ; attempt++ {
		done, err := h.tryGetObject(req, vid, head)
		if done || err != nil || attempt == 4 {
			return err
		}
	}
}

// tryGetObject serves one attempt; done is false when the object changed
// under it before anything was written.
func (h *Handler) tryGetObject(req *request, vid string, head bool) (done bool, err error) {
	info, err := h.headVersion(req.ctx, req.bucket, req.key, vid)
	if err != nil {
		return true, err
	}
	if info.Meta, err = h.visibleLock(req, info.Meta); err != nil {
		return true, err
	}
	if err := checkConditions(req.r.Header, "", info, true); err != nil {
		if errors.Is(err, errNotModified) {
			setObjectHeaders(req.w, info)
			req.w.Header().Del("Content-Type")
			req.w.WriteHeader(http.StatusNotModified)
			return true, nil
		}
		return true, err
	}
	off, n, status, err := readSpan(req, info)
	if err != nil {
		return true, err
	}
	var body io.Reader
	if !head && n > 0 {
		r := store.Range{Start: off, End: off + n - 1}
		cur, rc, err := h.getVersion(req.ctx, req.bucket, req.key, vid, &r)
		if err != nil {
			return true, err
		}
		defer rc.Close()
		if cur.ETag != info.ETag || !cur.LastModified.Equal(info.LastModified) {
			return false, nil
		}
		// Read the first block before committing to a status, so a
		// corrupted small object gets a clean error instead of a cut body.
		first := make([]byte, min(n, 64<<10))
		k, err := io.ReadFull(rc, first)
		if err != nil {
			return true, err
		}
		body = io.MultiReader(bytesReader(first[:k]), rc)
	}
	setObjectHeaders(req.w, info)
	setVersionHeader(req.w, info.VersionID)
	hd := req.w.Header()
	for p, hn := range responseOverrides {
		if v := req.q.Get(p); v != "" {
			hd.Set(hn, v)
		}
	}
	if strings.EqualFold(req.r.Header.Get("x-amz-checksum-mode"), "ENABLED") && status == http.StatusOK {
		setChecksumHeader(req.w, info.Checksum)
	}
	if status == http.StatusPartialContent {
		hd.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, info.Size))
	}
	hd.Set("Content-Length", strconv.FormatInt(n, 10))
	req.w.WriteHeader(status)
	if body == nil {
		return true, nil
	}
	if _, err := io.Copy(req.w, body); err != nil {
		// Headers are sent; the client sees a short body. Log the cause.
		logFrom(req).Warn("get body aborted", "bucket", req.bucket, "key", req.key, "err", err)
	}
	return true, nil
}

// readSpan is the bytes of info a GET or HEAD serves, from its partNumber
// query or Range header: their offset and length, and the status (206
// for a part or a range, 200 for the whole object or a range S3 ignores).
func readSpan(req *request, info store.ObjectInfo) (off, n int64, status int, err error) {
	var rng *store.Range
	status = http.StatusOK
	if pn := req.q.Get("partNumber"); pn != "" {
		n, err := strconv.Atoi(pn)
		if err != nil || n < 1 || n > store.MaxParts {
			return 0, 0, 0, apiErr(http.StatusBadRequest, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
		}
		r, err := partRange(info, n)
		if err != nil {
			return 0, 0, 0, err
		}
		rng, status = &r, http.StatusPartialContent
		if len(info.Parts) > 0 {
			req.w.Header().Set("x-amz-mp-parts-count", strconv.Itoa(len(info.Parts)))
		}
		if info.Size == 0 {
			rng, status = nil, http.StatusOK
		}
	} else if rv := req.r.Header.Get("Range"); rv != "" {
		if r, ok := parseRange(rv); ok {
			rng, status = &r, http.StatusPartialContent
		}
	}
	if rng == nil {
		return 0, info.Size, status, nil
	}
	off, n, err = rng.Resolve(info.Size)
	if err != nil {
		req.w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", info.Size))
	}
	return off, n, status, err
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
