package api

import (
	"net/http"

	"github.com/insitu-cloud/insitu/internal/apps"
)

func (h *Handler) routeApps() {
	h.route("POST /api/v1/apps", "PushApp", false, h.pushApp)
	h.route("GET /api/v1/apps", "ListApps", false, h.listApps)
	h.route("GET /api/v1/apps/{name}", "GetApp", false, h.getApp)
	h.route("GET /api/v1/apps/{name}/{version}", "GetApp", false, h.getApp)
	h.route("DELETE /api/v1/apps/{name}", "RemoveApp", false, h.removeApp)
	h.route("DELETE /api/v1/apps/{name}/{version}", "RemoveApp", false, h.removeApp)
}

// pushRequest is the body of POST /api/v1/apps. Wasm is base64 in JSON.
type pushRequest struct {
	Name     string        `json:"name"`
	Version  string        `json:"version,omitempty"`
	Manifest apps.Manifest `json:"manifest"`
	Public   *bool         `json:"public,omitempty"`
	Wasm     []byte        `json:"wasm"`
}

// maxPushBody allows a 64 MiB module in base64 plus its manifest.
const maxPushBody = apps.MaxModuleSize*4/3 + 1<<20

func (h *Handler) pushApp(c *call) error {
	var in pushRequest
	if err := decodeLimit(c, &in, maxPushBody); err != nil {
		return err
	}
	if in.Public != nil {
		in.Manifest.Public = *in.Public
	}
	a, err := h.apps.Push(c.ctx, c.account.ID, in.Name, in.Version, in.Wasm, in.Manifest)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, showApp(h.namer(c.ctx), a))
	return nil
}

func (h *Handler) listApps(c *call) error {
	list, err := h.apps.List(c.ctx, c.account.ID, c.r.URL.Query().Get("public") != "")
	if err != nil {
		return err
	}
	if list == nil {
		list = []apps.App{}
	}
	name := h.namer(c.ctx)
	for i := range list {
		list[i] = showApp(name, list[i])
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"apps": list})
	return nil
}

func (h *Handler) getApp(c *call) error {
	ref := c.r.PathValue("name")
	if v := c.r.PathValue("version"); v != "" {
		ref += ":" + v
	}
	if o := c.r.URL.Query().Get("owner"); o != "" {
		ref = o + "/" + ref
	}
	a, err := h.apps.Resolve(c.ctx, c.account.ID, ref)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, showApp(h.namer(c.ctx), a))
	return nil
}

func (h *Handler) removeApp(c *call) error {
	if err := h.apps.Remove(c.ctx, c.account.ID, c.r.PathValue("name"), c.r.PathValue("version")); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
