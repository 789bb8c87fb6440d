package s3api

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"

	"github.com/insitu-cloud/insitu/internal/store"
)

// Bucket versioning (see store.Versioned). Engines without it answer
// PutBucketVersioning NotImplemented, show the empty configuration, and
// accept only the "null" version id. (Both engines, local and the
// cluster's, have it.)

// maxVersioningBody bounds a PutBucketVersioning body.
const maxVersioningBody = 64 << 10

var (
	errIllegalVersioning = apiErr(http.StatusBadRequest, "IllegalVersioningConfigurationException",
		"The versioning configuration specified in the request is invalid.")
	errInvalidVersionID  = apiErr(http.StatusBadRequest, "InvalidArgument", "Invalid version id specified")
	errEmptyVersionID    = apiErr(http.StatusBadRequest, "InvalidArgument", "Version id cannot be the empty string")
	errVersioningCluster = apiErr(http.StatusNotImplemented, "NotImplemented",
		"Bucket versioning is not available on this store.")
	errMFADelete = apiErr(http.StatusNotImplemented, "NotImplemented", "MFA delete is not supported.")
)

// versioned returns the engine's versioning, if it has any.
func (h *Handler) versioned() (store.Versioned, bool) {
	v, ok := h.engine.(store.Versioned)
	return v, ok
}

// parseVersioningConfiguration decodes a PutBucketVersioning body into the
// state to set: MalformedXML when it is not a VersioningConfiguration,
// IllegalVersioningConfigurationException when Status is not Enabled or
// Suspended or MfaDelete is neither Enabled nor Disabled, NotImplemented
// for MfaDelete Enabled.
func parseVersioningConfiguration(body []byte) (string, error) {
	var c versioningConfiguration
	d := xml.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&c); err != nil || c.XMLName.Local != "VersioningConfiguration" {
		return "", errMalformedXML
	}
	if !onlySpaceLeft(d) {
		return "", errMalformedXML
	}
	switch c.MFADelete {
	case "", "Disabled":
	case "Enabled":
		return "", errMFADelete
	default:
		return "", errIllegalVersioning
	}
	if c.Status != store.VersioningEnabled && c.Status != store.VersioningSuspended {
		return "", errIllegalVersioning
	}
	return c.Status, nil
}

// onlySpaceLeft reports whether d holds nothing but white space, comments
// and processing instructions up to its end.
func onlySpaceLeft(d *xml.Decoder) bool {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return false
			}
		case xml.Comment, xml.ProcInst:
		default:
			return false
		}
	}
}

func (h *Handler) putBucketVersioning(req *request) error {
	body, err := io.ReadAll(io.LimitReader(req.r.Body, maxVersioningBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxVersioningBody {
		return errMalformedXML
	}
	state, err := parseVersioningConfiguration(body)
	if err != nil {
		return err
	}
	v, ok := h.versioned()
	if !ok {
		return errVersioningCluster
	}
	if err := v.SetBucketVersioning(req.ctx, req.bucket, state); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getBucketVersioning(req *request) error {
	res := versioningConfiguration{XMLName: xml.Name{Local: "VersioningConfiguration"}, NS: s3NS}
	if v, ok := h.versioned(); ok {
		st, err := v.BucketVersioning(req.ctx, req.bucket)
		if err != nil {
			return err
		}
		res.Status = st
	}
	writeXML(req.w, res)
	return nil
}

// versionParam returns the versionId query parameter ("" when absent);
// present but empty is an error, as in S3.
func versionParam(req *request) (string, error) {
	if !req.q.Has("versionId") {
		return "", nil
	}
	vid := req.q.Get("versionId")
	if vid == "" {
		return "", errEmptyVersionID
	}
	return vid, nil
}

// headVersion returns the metadata of bucket/key's version vid ("" for the
// latest).
func (h *Handler) headVersion(ctx context.Context, bucket, key, vid string) (store.ObjectInfo, error) {
	if vid == "" {
		return h.engine.HeadObject(ctx, bucket, key)
	}
	if v, ok := h.versioned(); ok {
		return v.HeadObjectVersion(ctx, bucket, key, vid)
	}
	if vid != store.NullVersionID {
		return store.ObjectInfo{}, errInvalidVersionID
	}
	return h.engine.HeadObject(ctx, bucket, key)
}

// getVersion opens bucket/key's version vid ("" for the latest).
func (h *Handler) getVersion(ctx context.Context, bucket, key, vid string, rng *store.Range) (store.ObjectInfo, io.ReadCloser, error) {
	if vid == "" {
		return h.engine.GetObject(ctx, bucket, key, rng)
	}
	if v, ok := h.versioned(); ok {
		return v.GetObjectVersion(ctx, bucket, key, vid, rng)
	}
	if vid != store.NullVersionID {
		return store.ObjectInfo{}, nil, errInvalidVersionID
	}
	return h.engine.GetObject(ctx, bucket, key, rng)
}

// deleteVersion deletes bucket/key (vid "") or its version vid; bypass
// lifts GOVERNANCE retention (the caller is allowed it).
func (h *Handler) deleteVersion(ctx context.Context, bucket, key, vid string, bypass bool) (store.DeleteResult, error) {
	if l, ok := h.locker(); ok {
		return l.DeleteVersionBypass(ctx, bucket, key, vid, bypass)
	}
	if v, ok := h.versioned(); ok {
		return v.DeleteObjectVersion(ctx, bucket, key, vid)
	}
	if vid != "" && vid != store.NullVersionID {
		return store.DeleteResult{}, errInvalidVersionID
	}
	return store.DeleteResult{VersionID: vid}, h.engine.DeleteObject(ctx, bucket, key)
}

// setVersionHeader sends x-amz-version-id when the object has a version.
func setVersionHeader(w http.ResponseWriter, id string) {
	if id != "" {
		w.Header().Set("x-amz-version-id", id)
	}
}

// setDeleteMarkerHeaders sends what S3 sends when a request meets a
// delete marker (err is a *store.DeleteMarkerError): x-amz-delete-marker
// and the marker's version id.
func setDeleteMarkerHeaders(w http.ResponseWriter, err error) {
	var dm *store.DeleteMarkerError
	if errors.As(err, &dm) {
		w.Header().Set("x-amz-delete-marker", "true")
		setVersionHeader(w, dm.VersionID)
	}
}

// listVersionsOptions reads ListObjectVersions' query: max-keys, prefix,
// delimiter, key-marker and version-id-marker (which needs a key-marker
// and must be a version id).
func listVersionsOptions(req *request) (store.ListVersionsOptions, error) {
	q := req.q
	maxKeys, err := maxKeysParam(q, "max-keys", 1000)
	if err != nil {
		return store.ListVersionsOptions{}, err
	}
	opts := store.ListVersionsOptions{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), MaxKeys: maxKeys,
		KeyMarker: q.Get("key-marker"), VersionIDMarker: q.Get("version-id-marker")}
	if opts.VersionIDMarker != "" && opts.KeyMarker == "" {
		return opts, apiErr(http.StatusBadRequest, "InvalidArgument", "A version-id marker cannot be specified without a key marker.")
	}
	if opts.VersionIDMarker != "" && !validVersionMarker(opts.VersionIDMarker) {
		return opts, errInvalidVersionID
	}
	return opts, nil
}

// validVersionMarker reports whether id has the shape of a version id this
// server issues ("null" or 24 lower-case hex digits).
func validVersionMarker(id string) bool {
	if id == store.NullVersionID {
		return true
	}
	if len(id) != 24 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// listVersions serves ListObjectVersions from an engine with versioning.
func (h *Handler) listVersions(req *request, v store.Versioned) error {
	opts, err := listVersionsOptions(req)
	if err != nil {
		return err
	}
	enc, encType, err := encoder(req.q)
	if err != nil {
		return err
	}
	res := listVersionsResult{NS: s3NS, Name: req.bucket, Prefix: enc(opts.Prefix), KeyMarker: enc(opts.KeyMarker),
		VersionIDMarker: opts.VersionIDMarker, MaxKeys: opts.MaxKeys, Delimiter: enc(opts.Delimiter), EncodingType: encType}
	if opts.MaxKeys > 0 {
		page, err := v.ListObjectVersions(req.ctx, req.bucket, opts)
		if err != nil {
			return err
		}
		res.Versions = versionEntries(enc, page.Versions, req.owner())
		res.CommonPrefixes = commonPrefixes(enc, page.CommonPrefixes)
		res.IsTruncated = page.IsTruncated
		res.NextKeyMarker = enc(page.NextKeyMarker)
		res.NextVersionIDMarker = page.NextVersionIDMarker
	} else if _, err := h.engine.GetBucket(req.ctx, req.bucket); err != nil {
		return err
	}
	writeXML(req.w, res)
	return nil
}

// versionEntries turns listed versions into Version and DeleteMarker
// elements, in order.
func versionEntries(enc func(string) string, vs []store.ObjectVersion, o owner) []any {
	out := make([]any, 0, len(vs))
	for _, ov := range vs {
		i := ov.Info
		if i.DeleteMarker {
			out = append(out, deleteMarkerEntry{Key: enc(i.Key), VersionID: i.VersionID, IsLatest: ov.IsLatest,
				LastModified: s3Time(i.LastModified), Owner: o})
			continue
		}
		e := versionEntry{Key: enc(i.Key), VersionID: i.VersionID, IsLatest: ov.IsLatest, LastModified: s3Time(i.LastModified),
			ETag: quoteETag(i.ETag), Size: i.Size, Owner: o, StorageClass: "STANDARD"}
		e.XMLName.Local = "Version"
		out = append(out, e)
	}
	return out
}
