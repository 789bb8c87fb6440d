package ui

import (
	"context"
	"net/http"
	"net/url"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/store"
)

// versionsShown is how many of an object's versions its page lists.
const versionsShown = 50

// versionsOf lists key's versions in bucket, newest first (at most
// versionsShown; more reports a longer history), when the engine keeps
// versions and the bucket has had versioning set; nil otherwise. The
// caller has checked the bucket is the account's.
func (h *Handler) versionsOf(ctx context.Context, bucket, key string) (vs []store.ObjectVersion, more bool, err error) {
	v, ok := h.cfg.Engine.(store.Versioned)
	if !ok {
		return nil, false, nil
	}
	if state, err := v.BucketVersioning(ctx, bucket); err != nil || state == store.VersioningUnset {
		return nil, false, err
	}
	// A key's versions come first among the keys it prefixes.
	res, err := v.ListObjectVersions(ctx, bucket, store.ListVersionsOptions{Prefix: key, MaxKeys: versionsShown + 1})
	if err != nil {
		return nil, false, err
	}
	for _, ov := range res.Versions {
		if ov.Info.Key != key {
			break
		}
		if len(vs) == versionsShown {
			return vs, true, nil
		}
		vs = append(vs, ov)
	}
	return vs, false, nil
}

// versioned returns the engine's versions, or a plain-words refusal
// when it keeps none (a cluster, for now).
func (h *Handler) versioned() (store.Versioned, error) {
	v, ok := h.cfg.Engine.(store.Versioned)
	if !ok {
		return nil, &userError{status: http.StatusNotImplemented, msg: "This node keeps no object versions."}
	}
	return v, nil
}

// deleteVersion removes one version of ?key= (form fields key, version)
// for good, in an owned bucket.
func (h *Handler) deleteVersion(c *call) error {
	key, id := c.r.PostFormValue("key"), c.r.PostFormValue("version")
	bucket := c.r.PathValue("bucket")
	if err := auth.OwnsBucket(c.ctx, h.cfg.Engine, c.s.accountID, bucket); err != nil {
		return err
	}
	if key == "" || id == "" {
		return &userError{status: http.StatusBadRequest, msg: "Name the object and the version to delete."}
	}
	v, err := h.versioned()
	if err != nil {
		return err
	}
	if _, err := v.DeleteObjectVersion(c.ctx, bucket, key, id); err != nil {
		return err
	}
	q := url.Values{"key": {key}, "done": {"Deleted version " + id + "."}}
	http.Redirect(c.w, c.r, "/ui/b/"+url.PathEscape(bucket)+"/object?"+q.Encode(), http.StatusSeeOther)
	return nil
}
