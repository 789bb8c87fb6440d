package ui

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/runs"
)

// OpenWith is what the dashboard needs of the runs service's open-with
// bindings (*runs.Service): the native API's calls, under the same rule
// (only the bucket's owner sees and changes its bindings).
type OpenWith interface {
	ListOpenWith(ctx context.Context, account, bucket string) ([]runs.OpenWith, error)
	SetOpenWith(ctx context.Context, account, bucket, contentType, app string) (runs.OpenWith, error)
	RemoveOpenWith(ctx context.Context, account, bucket, contentType string) error
	LookupOpenWith(ctx context.Context, bucket, contentType string) (string, error)
}

// openWith returns the runs service's open-with calls, or nil when it has
// none.
func (h *Handler) openWith() OpenWith {
	ow, _ := h.cfg.Runs.(OpenWith)
	return ow
}

// bindings lists an owned bucket's open-with bindings (nil without them).
func (h *Handler) bindings(c *call, bucket string) ([]runs.OpenWith, error) {
	ow := h.openWith()
	if ow == nil {
		return nil, nil
	}
	return ow.ListOpenWith(c.ctx, c.s.accountID, bucket)
}

// openerOf is the app bound to an object's content type in its bucket, ""
// when none is.
func (h *Handler) openerOf(ctx context.Context, bucket, contentType string) (string, error) {
	ow := h.openWith()
	if ow == nil {
		return "", nil
	}
	app, err := ow.LookupOpenWith(ctx, bucket, contentType)
	if errors.Is(err, runs.ErrNoOpenWith) {
		return "", nil
	}
	return app, err
}

// setBinding binds the form's content type to its app in an owned bucket.
func (h *Handler) setBinding(c *call) error {
	return h.changeBinding(c, func(ow OpenWith, bucket, ct string) (string, error) {
		app := strings.TrimSpace(c.r.PostFormValue("app"))
		if app == "" {
			return "", &userError{status: http.StatusBadRequest, msg: "Name the app that opens " + ct + "."}
		}
		_, err := ow.SetOpenWith(c.ctx, c.s.accountID, bucket, ct, app)
		return "Objects of type " + ct + " now open with " + app + ".", err
	})
}

// removeBinding drops the form's content type's binding.
func (h *Handler) removeBinding(c *call) error {
	return h.changeBinding(c, func(ow OpenWith, bucket, ct string) (string, error) {
		return "Removed the binding of " + ct + ".", ow.RemoveOpenWith(c.ctx, c.s.accountID, bucket, ct)
	})
}

// changeBinding checks the bucket is the caller's and the form's content
// type is one ("*/*", "type/*" or "type/subtype"), applies fn and goes
// back to the bucket's page with fn's words.
func (h *Handler) changeBinding(c *call, fn func(ow OpenWith, bucket, ct string) (string, error)) error {
	bucket := c.r.PathValue("bucket")
	if err := auth.OwnsBucket(c.ctx, h.cfg.Engine, c.s.accountID, bucket); err != nil {
		return err
	}
	ow := h.openWith()
	if ow == nil {
		return &userError{status: http.StatusNotFound, msg: "This node keeps no open-with bindings."}
	}
	ct := strings.ToLower(strings.TrimSpace(c.r.PostFormValue("content_type")))
	if _, _, err := mime.ParseMediaType(ct); (err != nil || !strings.Contains(ct, "/")) && ct != "*/*" {
		return &userError{status: http.StatusBadRequest, msg: "A content type looks like text/plain, image/* or */*."}
	}
	done, err := fn(ow, bucket, ct)
	if err != nil {
		return err
	}
	q := url.Values{"done": {done}}
	http.Redirect(c.w, c.r, "/ui/b/"+url.PathEscape(bucket)+"/?"+q.Encode()+"#open-with", http.StatusSeeOther)
	return nil
}
