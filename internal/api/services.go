package api

import (
	"net/http"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/services"
)

func (h *Handler) routeServices() {
	h.route("POST /api/v1/services", "CreateService", false, h.createService)
	h.route("GET /api/v1/services", "ListServices", false, h.listServices)
	h.route("GET /api/v1/services/{name}", "GetService", false, h.getService)
	h.route("PATCH /api/v1/services/{name}", "UpdateService", false, h.updateService)
	h.route("DELETE /api/v1/services/{name}", "RemoveService", false, h.removeService)
	h.route("GET /api/v1/services/{name}/stats", "ServiceStats", false, h.serviceStats)
}

func (h *Handler) createService(c *call) error {
	var in struct {
		Name string `json:"name"`
		services.Spec
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	s, err := h.services.Create(c.ctx, c.account.ID, in.Name, in.Spec)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, showService(h.namer(c.ctx), s))
	return nil
}

func (h *Handler) listServices(c *call) error {
	list, err := h.services.List(c.ctx, c.account.ID)
	if err != nil {
		return err
	}
	name := h.namer(c.ctx)
	for i := range list {
		list[i] = showService(name, list[i])
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"services": list})
	return nil
}

func (h *Handler) getService(c *call) error {
	s, err := h.services.Get(c.ctx, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	if !auth.Owns(c.account.ID, s.Owner) {
		return services.ErrNoSuchService
	}
	writeJSON(c.w, http.StatusOK, showService(h.namer(c.ctx), s))
	return nil
}

func (h *Handler) updateService(c *call) error {
	var in services.Spec
	if err := decode(c, &in); err != nil {
		return err
	}
	s, err := h.services.Update(c.ctx, c.account.ID, c.r.PathValue("name"), in)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, showService(h.namer(c.ctx), s))
	return nil
}

func (h *Handler) removeService(c *call) error {
	if err := h.services.Remove(c.ctx, c.account.ID, c.r.PathValue("name")); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) serviceStats(c *call) error {
	st, err := h.services.Stats(c.ctx, c.account.ID, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, st)
	return nil
}
