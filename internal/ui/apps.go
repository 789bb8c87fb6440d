package ui

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/auth"
)

// AppRegistry is what the dashboard needs of the app registry
// (*apps.Registry): the native API's calls, under the same rules (an
// account lists its own apps and the public ones, and pushes and removes
// only its own).
type AppRegistry interface {
	Resolver
	List(ctx context.Context, account string, public bool) ([]apps.App, error)
	Push(ctx context.Context, owner, name, version string, wasm []byte, m apps.Manifest) (apps.App, error)
	Remove(ctx context.Context, owner, name, version string) error
}

// maxPushBytes bounds a push form: a module of apps.MaxModuleSize and its
// manifest.
const maxPushBytes = apps.MaxModuleSize + 1<<20

var errNoApps = &userError{status: http.StatusNotFound, msg: "This node keeps no app registry."}

// appRow is one version of an app on the apps page.
type appRow struct {
	apps.App
	OwnerName string
	Mine      bool
	Key       string // owner/name/version, the pager's position
}

// appList shows the caller's apps (every version) and the public apps of
// other accounts, pageSize versions a page after ?after=.
func (h *Handler) appList(c *call) error {
	return h.renderApps(c, http.StatusOK, "", appForm{})
}

// appForm is the push form as the user filled it.
type appForm struct {
	Name, Version, Manifest string
	Public                  bool
}

func (h *Handler) renderApps(c *call, status int, msg string, f appForm) error {
	if h.cfg.Apps == nil {
		return errNoApps
	}
	all, err := h.cfg.Apps.List(c.ctx, c.s.accountID, true)
	if err != nil {
		return err
	}
	after := c.r.URL.Query().Get("after")
	names := map[string]string{}
	var rows []appRow
	next := ""
	for _, a := range all {
		key := a.Owner + "/" + a.Name + "/" + a.Version
		if after != "" && key <= after {
			continue
		}
		if len(rows) == pageSize {
			next = rows[len(rows)-1].Key
			break
		}
		rows = append(rows, appRow{App: a, OwnerName: h.ownerName(c.ctx, names, a.Owner), Mine: auth.Owns(c.s.accountID, a.Owner), Key: key})
	}
	data := struct {
		Apps []appRow
		Next string
		Form appForm
	}{rows, next, f}
	return h.render(c, status, "apps", view{Title: "Apps", Nav: "apps", Error: msg, Data: data, Notice: c.r.URL.Query().Get("done")})
}

// ownerName is an account id's name, remembered in names; the id itself
// when the account is gone.
func (h *Handler) ownerName(ctx context.Context, names map[string]string, id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	n, err := h.cfg.Accounts.NameOf(ctx, id)
	if err != nil {
		n = id
	}
	names[id] = n
	return n
}

// pushApp stores the uploaded module under the caller's account with the
// manifest pasted in the form (optional; name, version and public come
// from the form's own fields).
func (h *Handler) pushApp(c *call) error {
	if h.cfg.Apps == nil {
		return errNoApps
	}
	f := appForm{Name: strings.TrimSpace(c.r.PostFormValue("name")), Version: strings.TrimSpace(c.r.PostFormValue("version")),
		Manifest: c.r.PostFormValue("manifest"), Public: c.r.PostFormValue("public") != ""}
	m, wasm, err := pushInput(c.r, f)
	if err == nil {
		var a apps.App
		if a, err = h.cfg.Apps.Push(c.ctx, c.s.accountID, f.Name, f.Version, wasm, m); err == nil {
			q := url.Values{"done": {"Pushed " + a.Name + ":" + a.Version + "."}}
			http.Redirect(c.w, c.r, "/ui/apps?"+q.Encode(), http.StatusSeeOther)
			return nil
		}
	}
	status, msg := h.explainApp(c, err)
	return h.renderApps(c, status, msg, f)
}

// pushInput reads the manifest and the module file of a push form.
func pushInput(r *http.Request, f appForm) (apps.Manifest, []byte, error) {
	var m apps.Manifest
	if strings.TrimSpace(f.Manifest) != "" {
		var err error
		if m, err = apps.ParseManifest([]byte(f.Manifest)); err != nil {
			return m, nil, &userError{status: http.StatusBadRequest, msg: "The manifest was refused: " + strings.TrimPrefix(err.Error(), "manifest: ")}
		}
	}
	m.Public = m.Public || f.Public
	file, _, err := r.FormFile("wasm")
	if err != nil {
		return m, nil, &userError{status: http.StatusBadRequest, msg: "Choose a WebAssembly module (.wasm) to push."}
	}
	defer file.Close()
	wasm, err := io.ReadAll(io.LimitReader(file, apps.MaxModuleSize+1))
	if err != nil {
		return m, nil, err
	}
	return m, wasm, nil
}

// explainApp words the registry's refusals; anything else as explain.
func (h *Handler) explainApp(c *call, err error) (int, string) {
	switch {
	case errors.Is(err, apps.ErrInvalidName):
		return http.StatusBadRequest, "Name the app with 1-64 of a-z 0-9 - _ . (starting with a letter or digit); a version with 1-64 of A-Z a-z 0-9 - _ . +."
	case errors.Is(err, apps.ErrAppExists):
		return http.StatusConflict, "That version exists with other bytes: give the new module a new version."
	case errors.Is(err, apps.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "The module is larger than 64 MiB."
	case errors.Is(err, apps.ErrInvalidWasm):
		return http.StatusBadRequest, "The module was refused: " + strings.TrimPrefix(err.Error(), apps.ErrInvalidWasm.Error()+": ")
	}
	return h.explain(c, err)
}

// removeApp removes one version of the caller's app.
func (h *Handler) removeApp(c *call) error {
	if h.cfg.Apps == nil {
		return errNoApps
	}
	name, version := c.r.PathValue("name"), c.r.PathValue("version")
	if err := h.cfg.Apps.Remove(c.ctx, c.s.accountID, name, version); err != nil {
		if errors.Is(err, apps.ErrNoSuchApp) {
			return &userError{status: http.StatusNotFound, msg: "You have no app of that name and version."}
		}
		return err
	}
	q := url.Values{"done": {"Removed " + name + ":" + version + "."}}
	http.Redirect(c.w, c.r, "/ui/apps?"+q.Encode(), http.StatusSeeOther)
	return nil
}
