package s3api

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/store"
)

// maxCompleteBody bounds a CompleteMultipartUpload body: 10,000 parts with
// every checksum element fit in well under 4 MiB.
const maxCompleteBody = 4 << 20

func (f *checksumFields) set(alg, v string) {
	switch alg {
	case checksum.CRC32:
		f.ChecksumCRC32 = v
	case checksum.CRC32C:
		f.ChecksumCRC32C = v
	case checksum.CRC64NVME:
		f.ChecksumCRC64NVME = v
	case checksum.SHA1:
		f.ChecksumSHA1 = v
	case checksum.SHA256:
		f.ChecksumSHA256 = v
	}
}

// get returns the one checksum present, if any.
func (f checksumFields) get() (alg, v string) {
	for _, c := range []struct{ a, v string }{
		{checksum.CRC32, f.ChecksumCRC32}, {checksum.CRC32C, f.ChecksumCRC32C},
		{checksum.CRC64NVME, f.ChecksumCRC64NVME}, {checksum.SHA1, f.ChecksumSHA1}, {checksum.SHA256, f.ChecksumSHA256},
	} {
		if c.v != "" {
			return c.a, c.v
		}
	}
	return "", ""
}

func (h *Handler) createMultipartUpload(req *request) error {
	meta, err := metaFromHeaders(req.r.Header)
	if err != nil {
		return err
	}
	if err := h.writeLock(req, &meta, false); err != nil {
		return err
	}
	opts := store.PutOptions{Meta: meta}
	if a := firstNonEmpty(req.r.Header.Get("x-amz-checksum-algorithm"), req.r.Header.Get("x-amz-sdk-checksum-algorithm")); a != "" {
		ca, ok := checksum.Canonical(a)
		if !ok {
			return apiErr(http.StatusBadRequest, "InvalidRequest", "Value for x-amz-checksum-algorithm header is invalid.")
		}
		opts.ChecksumAlgorithm = ca
	}
	if t := req.r.Header.Get("x-amz-checksum-type"); t != "" && !strings.EqualFold(t, "COMPOSITE") {
		return apiErr(http.StatusBadRequest, "InvalidRequest", "The FULL_OBJECT checksum type is not supported for multipart uploads here; use COMPOSITE.")
	}
	up, err := h.engine.CreateMultipartUpload(req.ctx, req.bucket, req.key, opts)
	if err != nil {
		return err
	}
	if up.ChecksumAlgorithm != "" {
		req.w.Header().Set("x-amz-checksum-algorithm", up.ChecksumAlgorithm)
		req.w.Header().Set("x-amz-checksum-type", "COMPOSITE")
	}
	writeXML(req.w, initiateMultipartUploadResult{NS: s3NS, Bucket: req.bucket, Key: req.key, UploadID: up.UploadID})
	return nil
}

func partNumber(q url.Values) (int, error) {
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > store.MaxParts {
		return 0, apiErr(http.StatusBadRequest, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

func (h *Handler) uploadPart(req *request) error {
	n, err := partNumber(req.q)
	if err != nil {
		return err
	}
	size, err := bodySize(req)
	if err != nil {
		return err
	}
	opts, err := putOptions(req)
	if err != nil {
		return err
	}
	p, err := h.engine.UploadPart(req.ctx, req.bucket, req.key, req.q.Get("uploadId"), n, req.r.Body, size, opts)
	if err != nil {
		return err
	}
	req.w.Header().Set("ETag", quoteETag(p.ETag))
	if p.Checksum.Algorithm != "" {
		req.w.Header().Set(checksum.HeaderName(p.Checksum.Algorithm), p.Checksum.Value)
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) uploadPartCopy(req *request) error {
	n, err := partNumber(req.q)
	if err != nil {
		return err
	}
	src, err := h.openCopySource(req)
	if err != nil {
		return err
	}
	rng := store.Range{Start: 0, End: -1}
	if v := req.r.Header.Get("x-amz-copy-source-range"); v != "" {
		r, ok := parseRange(v)
		if !ok || r.Suffix > 0 || r.End < 0 || r.End >= src.Size {
			return apiErr(http.StatusBadRequest, "InvalidRange", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy, within the source object")
		}
		rng = r
	}
	var body io.Reader = strings.NewReader("")
	var size int64
	if src.Size > 0 {
		got, rc, err := src.open(req.ctx, h, &rng)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, size, _ = rng.Resolve(got.Size)
		body = rc
	}
	p, err := h.engine.UploadPart(req.ctx, req.bucket, req.key, req.q.Get("uploadId"), n, body, size, store.PutOptions{})
	if err != nil {
		return err
	}
	writeXML(req.w, copyPartResult{NS: s3NS, LastModified: s3Time(p.LastModified), ETag: quoteETag(p.ETag)})
	return nil
}

// parseCompleteRequest decodes a CompleteMultipartUpload body.
func parseCompleteRequest(body []byte) ([]store.CompletePart, error) {
	var c completeMultipartUpload
	if err := xml.Unmarshal(body, &c); err != nil {
		return nil, errMalformedXML
	}
	if len(c.Parts) == 0 || len(c.Parts) > store.MaxParts {
		return nil, errMalformedXML
	}
	parts := make([]store.CompletePart, 0, len(c.Parts))
	for _, p := range c.Parts {
		if p.PartNumber < 1 || p.PartNumber > store.MaxParts {
			return nil, apiErr(http.StatusBadRequest, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
		}
		alg, v := p.checksumFields.get()
		cp := store.CompletePart{Number: p.PartNumber, ETag: strings.Trim(strings.TrimSpace(p.ETag), `"`)}
		if alg != "" {
			cp.Checksum = store.Checksum{Algorithm: alg, Value: v}
		}
		parts = append(parts, cp)
	}
	return parts, nil
}

func (h *Handler) completeMultipartUpload(req *request) error {
	body, err := io.ReadAll(io.LimitReader(req.r.Body, maxCompleteBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxCompleteBody {
		return errMalformedXML
	}
	parts, err := parseCompleteRequest(body)
	if err != nil {
		return err
	}
	info, err := h.engine.CompleteMultipartUpload(req.ctx, req.bucket, req.key, req.q.Get("uploadId"), parts)
	if errors.Is(err, store.ErrNoSuchUpload) {
		info, err = h.completedBefore(req, parts, err)
	}
	if err != nil {
		return err
	}
	setVersionHeader(req.w, info.VersionID)
	res := completeMultipartUploadResult{NS: s3NS, Location: "/" + req.bucket + "/" + req.key, Bucket: req.bucket, Key: req.key,
		ETag: quoteETag(info.ETag), ChecksumType: info.Checksum.Type}
	res.set(info.Checksum.Algorithm, info.Checksum.Value)
	writeXML(req.w, res)
	return nil
}

// completedBefore answers a retried CompleteMultipartUpload (the client
// lost the first response) as S3 does, with the same result: when the
// upload is gone and the object now at the key is made of exactly the
// listed parts (numbers and ETags), that object is the upload's result.
// Otherwise it returns notFound.
func (h *Handler) completedBefore(req *request, parts []store.CompletePart, notFound error) (store.ObjectInfo, error) {
	info, err := h.engine.HeadObject(req.ctx, req.bucket, req.key)
	if err != nil || len(info.Parts) != len(parts) {
		return store.ObjectInfo{}, notFound
	}
	for i, p := range info.Parts {
		if p.Number != parts[i].Number || !strings.EqualFold(p.ETag, parts[i].ETag) {
			return store.ObjectInfo{}, notFound
		}
	}
	return info, nil
}

func (h *Handler) abortMultipartUpload(req *request) error {
	if err := h.engine.AbortMultipartUpload(req.ctx, req.bucket, req.key, req.q.Get("uploadId")); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listParts(req *request) error {
	maxParts, err := maxKeysParam(req.q, "max-parts", 1000)
	if err != nil {
		return err
	}
	marker := 0
	if v := req.q.Get("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return apiErr(http.StatusBadRequest, "InvalidArgument", "Provided part-number-marker not an integer or within integer range")
		}
	}
	page, err := h.engine.ListParts(req.ctx, req.bucket, req.key, req.q.Get("uploadId"), marker, maxParts)
	if err != nil {
		return err
	}
	o := req.owner()
	res := listPartsResult{NS: s3NS, Bucket: req.bucket, Key: req.key, UploadID: req.q.Get("uploadId"), Initiator: o, Owner: o,
		StorageClass: "STANDARD", PartNumberMarker: marker, NextPartNumberMarker: page.NextPartNumberMarker, MaxParts: maxParts,
		IsTruncated: page.IsTruncated, ChecksumAlgorithm: page.Upload.ChecksumAlgorithm}
	if page.Upload.ChecksumAlgorithm != "" {
		res.ChecksumType = "COMPOSITE"
	}
	for _, p := range page.Parts {
		e := partEntry{PartNumber: p.Number, LastModified: s3Time(p.LastModified), ETag: quoteETag(p.ETag), Size: p.Size}
		e.set(p.Checksum.Algorithm, p.Checksum.Value)
		res.Parts = append(res.Parts, e)
	}
	writeXML(req.w, res)
	return nil
}
