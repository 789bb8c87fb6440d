package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"login", "error", "overview", "buckets", "objects", "object", "accounts", "account_remove", "apps", "runs", "run", "jobs", "job", "services", "service", "instances", "instance"}

// pages holds the parsed templates; they are read-only after parsePages.
type pages struct{ byName map[string]*template.Template }

func parsePages() *pages {
	p := &pages{byName: map[string]*template.Template{}}
	funcs := template.FuncMap{"bytes": humanBytes, "pct": pct, "base": baseName, "list": func(s ...string) []string { return s }}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/plot.html"))
	for _, name := range pageNames {
		t := template.Must(layout.Clone())
		p.byName[name] = template.Must(t.ParseFS(templateFS, "templates/"+name+".html"))
	}
	return p
}

// view is what every page template sees.
type view struct {
	Title   string
	Nav     string // the highlighted navigation entry
	Account string // empty when signed out
	Root    bool
	CSRF    string
	Error   string
	Notice  string
	Data    any
}

// render writes page name with data, status 200 unless set.
func (h *Handler) render(c *call, status int, name string, v view) error {
	if c.s.id != "" {
		v.Account, v.Root, v.CSRF = c.s.account, c.s.root(), c.s.csrf
	}
	var buf bytes.Buffer
	if err := h.pages.byName[name].Execute(&buf, v); err != nil {
		return err
	}
	c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	c.w.WriteHeader(status)
	_, err := c.w.Write(buf.Bytes())
	return err
}

// userError is an error worded for the person at the browser.
type userError struct {
	status int
	msg    string
}

func (e *userError) Error() string { return e.msg }

// explain turns an error into a status and plain words; internal errors
// are logged and named by the request id only.
func (h *Handler) explain(c *call, err error) (int, string) {
	var ue *userError
	switch {
	case errors.As(err, &ue):
		return ue.status, ue.msg
	case errors.Is(err, store.ErrNoSuchBucket), errors.Is(err, auth.ErrNotOwner):
		return http.StatusNotFound, "You have no bucket of that name."
	case errors.Is(err, store.ErrNoSuchKey):
		return http.StatusNotFound, "There is no object with that key."
	case errors.Is(err, store.ErrNoSuchVersion), errors.Is(err, store.ErrInvalidVersionID):
		return http.StatusNotFound, "That object has no version of that id."
	case errors.Is(err, store.ErrObjectLocked):
		return http.StatusForbidden, "That version is locked (Object Lock retention or legal hold): no one can delete it before its lock ends."
	case errors.Is(err, store.ErrVersionIsDeleteMarker):
		return http.StatusNotFound, "That version is a delete marker: it has no content."
	case errors.Is(err, store.ErrBucketNotEmpty):
		return http.StatusConflict, "The bucket is not empty: delete its objects first."
	case errors.Is(err, store.ErrBucketExists):
		return http.StatusConflict, "That bucket name is taken."
	case errors.Is(err, store.ErrBucketOwnedByYou):
		return http.StatusConflict, "You already have a bucket of that name."
	case errors.Is(err, apps.ErrInvalidName):
		return http.StatusBadRequest, "That is not an app name: names are 1-64 of a-z 0-9 - _ . (an owner/ before, a :version after)."
	case errors.Is(err, apps.ErrNoSuchApp):
		return http.StatusNotFound, "There is no app of that name that you may run."
	case errors.Is(err, runs.ErrAccessDenied):
		return http.StatusForbidden, "You may not run that app on this object."
	case errors.Is(err, runs.ErrBusy), errors.Is(err, runs.ErrShuttingDown):
		return http.StatusServiceUnavailable, "The node is too busy to start the run now. Try again shortly."
	case errors.Is(err, runs.ErrBadRequest):
		return http.StatusBadRequest, "The run was refused: " + strings.TrimPrefix(err.Error(), "runs: bad request: ")
	}
	info := obs.FromContext(c.ctx)
	info.Logger.Error("ui: request failed", "err", err)
	return http.StatusInternalServerError, "Something went wrong on the server (request " + info.ID + "). The error was logged."
}

// fail shows err in the page (or as JSON to the upload script).
func (h *Handler) fail(c *call, err error) {
	status, msg := h.explain(c, err)
	if strings.Contains(c.r.Header.Get("Accept"), "application/json") {
		writeJSON(c.w, status, map[string]string{"error": msg})
		return
	}
	if rerr := h.render(c, status, "error", view{Title: "Error", Error: msg}); rerr != nil {
		h.log.Warn("ui: rendering an error page", "err", rerr)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// renderFragment writes template name of page's set alone (no layout), for
// a script that swaps it into the page.
func (h *Handler) renderFragment(c *call, page, name string, data any) error {
	var buf bytes.Buffer
	if err := h.pages.byName[page].ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err := c.w.Write(buf.Bytes())
	return err
}
