package ui

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
)

// previewBytes is how much of an object the text preview shows.
const previewBytes = 64 << 10

// imageTypes are the content types previewed as images. SVG is not one:
// it can carry script.
var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// objectView is what the object page shows.
type objectView struct {
	Bucket, Prefix string
	Info           store.ObjectInfo
	Image          bool
	Text           string // the first previewBytes, when they look like text
	Truncated      bool
	App, Args      string
	Run            *runResult
	// Opener is the app the bucket's open-with binding names for this
	// object's type, "" when none does.
	Opener string
	// Versions are the object's versions, newest first, when its bucket
	// has had versioning set (VersionsMore: there are more than shown).
	Versions     []store.ObjectVersion
	VersionsMore bool
}

// runResult is a finished run shown on the object page.
type runResult struct {
	Record         *runs.Record
	Stdout, Stderr string
}

// ownedObject checks the caller owns ?key='s bucket and returns its info.
func (h *Handler) ownedObject(c *call, key string) (store.ObjectInfo, error) {
	bucket := c.r.PathValue("bucket")
	if err := auth.OwnsBucket(c.ctx, h.cfg.Engine, c.s.accountID, bucket); err != nil {
		return store.ObjectInfo{}, err
	}
	if key == "" {
		return store.ObjectInfo{}, store.ErrNoSuchKey
	}
	return h.cfg.Engine.HeadObject(c.ctx, bucket, key)
}

func parentPrefix(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		return key[:i+1]
	}
	return ""
}

// objectPage builds the object page's view (preview included).
func (h *Handler) objectPage(c *call, key string) (objectView, error) {
	info, err := h.ownedObject(c, key)
	if err != nil {
		return objectView{}, err
	}
	v := objectView{Bucket: info.Bucket, Prefix: parentPrefix(key), Info: info, App: "wc"}
	if v.Opener, err = h.openerOf(c.ctx, info.Bucket, info.Meta.ContentType); err != nil {
		return v, err
	}
	if v.Versions, v.VersionsMore, err = h.versionsOf(c.ctx, info.Bucket, key); err != nil {
		return v, err
	}
	ct, _, _ := mime.ParseMediaType(info.Meta.ContentType)
	if v.Image = imageTypes[ct]; v.Image || info.Size == 0 {
		return v, nil
	}
	_, rc, err := h.cfg.Engine.GetObject(c.ctx, info.Bucket, key, &store.Range{Start: 0, End: min(info.Size, previewBytes) - 1})
	if err != nil {
		return v, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, previewBytes))
	if err != nil {
		return v, err
	}
	if looksLikeText(b) {
		v.Text, v.Truncated = string(b), info.Size > previewBytes
	}
	return v, nil
}

// looksLikeText reports whether b is UTF-8 without NULs; up to three
// bytes at the end may be a rune the preview's cut split.
func looksLikeText(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	for cut := 0; cut < utf8.UTFMax && len(b) > 0; cut++ {
		if utf8.Valid(b) {
			return true
		}
		b = b[:len(b)-1]
	}
	return len(b) == 0
}

// object shows an object: its metadata, a preview, download and delete,
// and the run form.
func (h *Handler) object(c *call) error {
	key := c.r.URL.Query().Get("key")
	v, err := h.objectPage(c, key)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "object", view{Title: baseName(key), Nav: "buckets", Data: v, Notice: c.r.URL.Query().Get("done")})
}

// sendObject streams an owned object (its version id, when not "") with
// the given disposition.
func (h *Handler) sendObject(c *call, key, id, contentType, disposition string) error {
	info, rc, err := h.openObject(c, key, id)
	if err != nil {
		return err
	}
	defer rc.Close()
	hd := c.w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	hd.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": path.Base("/" + key)}))
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	_, err = io.Copy(c.w, rc)
	if err != nil {
		h.log.Debug("ui: download cut", "bucket", info.Bucket, "key", key, "err", err)
	}
	return nil // headers are sent: nothing more to show
}

// openObject opens key in the caller's bucket: the latest version, or
// version id when it is not "".
func (h *Handler) openObject(c *call, key, id string) (store.ObjectInfo, io.ReadCloser, error) {
	if id == "" {
		info, err := h.ownedObject(c, key)
		if err != nil {
			return info, nil, err
		}
		_, rc, err := h.cfg.Engine.GetObject(c.ctx, info.Bucket, key, nil)
		return info, rc, err
	}
	bucket := c.r.PathValue("bucket")
	if err := auth.OwnsBucket(c.ctx, h.cfg.Engine, c.s.accountID, bucket); err != nil {
		return store.ObjectInfo{}, nil, err
	}
	v, err := h.versioned()
	if err != nil {
		return store.ObjectInfo{}, nil, err
	}
	return v.GetObjectVersion(c.ctx, bucket, key, id, nil)
}

// download sends the object as an attachment, never rendered here.
func (h *Handler) download(c *call) error {
	q := c.r.URL.Query()
	return h.sendObject(c, q.Get("key"), q.Get("version"), "application/octet-stream", "attachment")
}

// image sends an image object inline for the preview; other types are
// refused so nothing stored can run as a page of the dashboard.
func (h *Handler) image(c *call) error {
	key := c.r.URL.Query().Get("key")
	info, err := h.ownedObject(c, key)
	if err != nil {
		return err
	}
	ct, _, _ := mime.ParseMediaType(info.Meta.ContentType)
	if !imageTypes[ct] {
		return &userError{status: http.StatusUnsupportedMediaType, msg: "This object is not an image the dashboard shows."}
	}
	return h.sendObject(c, key, "", ct, "inline")
}

// deleteObject deletes ?key= (form field key) from an owned bucket.
func (h *Handler) deleteObject(c *call) error {
	key := c.r.PostFormValue("key")
	info, err := h.ownedObject(c, key)
	if err != nil {
		return err
	}
	if err := h.cfg.Engine.DeleteObject(c.ctx, info.Bucket, key); err != nil {
		return err
	}
	q := url.Values{"prefix": {parentPrefix(key)}, "done": {"Deleted " + key + "."}}
	http.Redirect(c.w, c.r, "/ui/b/"+url.PathEscape(info.Bucket)+"/?"+q.Encode(), http.StatusSeeOther)
	return nil
}
