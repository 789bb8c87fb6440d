package s3api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/store"
)

// copySource parses x-amz-copy-source ("[/]bucket/key[?versionId=v]", URL-encoded).
func copySource(v string) (bucket, key string, err error) {
	bad := apiErr(http.StatusBadRequest, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	raw, query, _ := strings.Cut(v, "?")
	if query != "" {
		q, perr := url.ParseQuery(query)
		if perr != nil {
			return "", "", bad
		}
		if vid := q.Get("versionId"); vid != "" && vid != "null" {
			return "", "", apiErr(http.StatusBadRequest, "InvalidArgument", "Invalid version id specified")
		}
	}
	dec, perr := url.PathUnescape(raw)
	if perr != nil {
		return "", "", bad
	}
	dec = strings.TrimPrefix(dec, "/")
	bucket, key, ok := strings.Cut(dec, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", bad
	}
	return bucket, key, nil
}

// openCopySource authorizes, checks x-amz-copy-source-if-* and returns the
// source's metadata.
func (h *Handler) openCopySource(req *request) (store.ObjectInfo, error) {
	sb, sk, err := copySource(req.r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return store.ObjectInfo{}, err
	}
	if err := h.authorize(req, sb, sk, "s3:GetObject"); err != nil {
		return store.ObjectInfo{}, err
	}
	info, err := h.engine.HeadObject(req.ctx, sb, sk)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	if err := checkConditions(req.r.Header, "x-amz-copy-source-", info, false); err != nil {
		return store.ObjectInfo{}, err
	}
	return info, nil
}

func (h *Handler) copyObject(req *request) error {
	src, err := h.openCopySource(req)
	if err != nil {
		return err
	}
	directive := strings.ToUpper(firstNonEmpty(req.r.Header.Get("x-amz-metadata-directive"), "COPY"))
	if directive != "COPY" && directive != "REPLACE" {
		return apiErr(http.StatusBadRequest, "InvalidArgument", "Unknown metadata directive.")
	}
	alg := src.Checksum.Algorithm
	if a := req.r.Header.Get("x-amz-checksum-algorithm"); a != "" {
		ca, ok := checksum.Canonical(a)
		if !ok {
			return apiErr(http.StatusBadRequest, "InvalidRequest", "Value for x-amz-checksum-algorithm header is invalid.")
		}
		alg = ca
	}
	if src.Bucket == req.bucket && src.Key == req.key && directive == "COPY" && alg == src.Checksum.Algorithm {
		return apiErr(http.StatusBadRequest, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	opts := store.PutOptions{Meta: src.Meta, ChecksumAlgorithm: alg}
	opts.Meta.ACL = objectACL(req.r.Header) // S3 copies no ACL
	if directive == "REPLACE" {
		if opts.Meta, err = metaFromHeaders(req.r.Header); err != nil {
			return err
		}
	}
	got, rc, err := h.engine.GetObject(req.ctx, src.Bucket, src.Key, nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	info, err := h.engine.PutObject(req.ctx, req.bucket, req.key, rc, got.Size, opts)
	if err != nil {
		return err
	}
	res := copyObjectResult{NS: s3NS, LastModified: s3Time(info.LastModified), ETag: quoteETag(info.ETag)}
	switch info.Checksum.Algorithm {
	case checksum.CRC32:
		res.ChecksumCRC32 = info.Checksum.Value
	case checksum.CRC32C:
		res.ChecksumCRC32C = info.Checksum.Value
	case checksum.CRC64NVME:
		res.ChecksumCRC64 = info.Checksum.Value
	case checksum.SHA1:
		res.ChecksumSHA1 = info.Checksum.Value
	case checksum.SHA256:
		res.ChecksumSHA256 = info.Checksum.Value
	}
	writeXML(req.w, res)
	return nil
}
