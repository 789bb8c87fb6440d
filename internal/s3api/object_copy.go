package s3api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/store"
)

// copySource parses x-amz-copy-source ("[/]bucket/key[?versionId=v]",
// URL-encoded); vid is "" when no version is named.
func copySource(v string) (bucket, key, vid string, err error) {
	bad := apiErr(http.StatusBadRequest, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	raw, query, _ := strings.Cut(v, "?")
	if query != "" {
		q, perr := url.ParseQuery(query)
		if perr != nil {
			return "", "", "", bad
		}
		vid = q.Get("versionId")
		if q.Has("versionId") && vid == "" {
			return "", "", "", errEmptyVersionID
		}
	}
	dec, perr := url.PathUnescape(raw)
	if perr != nil {
		return "", "", "", bad
	}
	dec = strings.TrimPrefix(dec, "/")
	bucket, key, ok := strings.Cut(dec, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", "", bad
	}
	return bucket, key, vid, nil
}

// copySrc is a copy's source: its metadata and the version named ("" for
// the latest).
type copySrc struct {
	store.ObjectInfo
	vid string
}

// open opens rng of the source version.
func (s copySrc) open(ctx context.Context, h *Handler, rng *store.Range) (store.ObjectInfo, io.ReadCloser, error) {
	return h.getVersion(ctx, s.Bucket, s.Key, s.vid, rng)
}

// openCopySource authorizes (s3:GetObject, or s3:GetObjectVersion for a
// named version), checks x-amz-copy-source-if-*, returns the source's
// metadata and sends x-amz-copy-source-version-id when it has a version.
func (h *Handler) openCopySource(req *request) (copySrc, error) {
	sb, sk, vid, err := copySource(req.r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return copySrc{}, err
	}
	action := "s3:GetObject"
	if vid != "" {
		action = "s3:GetObjectVersion"
	}
	if err := h.authorizeVersion(req, objectVersion{sb, sk, vid, vid != ""}, action); err != nil {
		return copySrc{}, err
	}
	info, err := h.headVersion(req.ctx, sb, sk, vid)
	if errors.Is(err, store.ErrVersionIsDeleteMarker) {
		err = apiErr(http.StatusBadRequest, "InvalidRequest", "The source of a copy request may not specifically refer to a delete marker by version id.")
	}
	if err != nil {
		return copySrc{}, err
	}
	if err := checkConditions(req.r.Header, "x-amz-copy-source-", info, false); err != nil {
		return copySrc{}, err
	}
	if info.VersionID != "" {
		req.w.Header().Set("x-amz-copy-source-version-id", info.VersionID)
	}
	return copySrc{info, vid}, nil
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
	if src.Bucket == req.bucket && src.Key == req.key && src.vid == "" && directive == "COPY" && alg == src.Checksum.Algorithm {
		return apiErr(http.StatusBadRequest, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	opts := store.PutOptions{Meta: src.Meta, ChecksumAlgorithm: alg}
	opts.Meta.ACL = objectACL(req.r.Header) // S3 copies no ACL
	// nor the stamps of the source's ACL and lock changes
	opts.Meta.ACLStamp, opts.Meta.LockStamp = store.Stamp{}, store.Stamp{}
	if directive == "REPLACE" {
		if opts.Meta, err = metaFromHeaders(req.r.Header); err != nil {
			return err
		}
	}
	if err := h.writeLock(req, &opts.Meta, false); err != nil { // S3 copies no lock
		return err
	}
	got, rc, err := src.open(req.ctx, h, nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	info, err := h.engine.PutObject(req.ctx, req.bucket, req.key, rc, got.Size, opts)
	if err != nil {
		return err
	}
	setVersionHeader(req.w, info.VersionID)
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
