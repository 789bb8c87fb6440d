package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/services"
)

// ownService returns the caller's service name; another account's is
// services.ErrNoSuchService, as the native API answers.
func (h *Handler) ownService(ctx context.Context, account, name string) (services.Service, error) {
	if h.cfg.Services == nil {
		return services.Service{}, errNoServices
	}
	s, err := h.cfg.Services.Get(ctx, name)
	if err == nil && !auth.Owns(account, s.Owner) {
		err = services.ErrNoSuchService
	}
	return s, serviceError(err)
}

// serviceDetail shows a service's definition, its update form and its
// live stats (polled by svc.js).
func (h *Handler) serviceDetail(c *call) error {
	s, err := h.ownService(c.ctx, c.s.accountID, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	return h.renderService(c, http.StatusOK, "", s, serviceForm{App: s.App, Timeout: s.Timeout.String(),
		Memory: fmt.Sprint(s.Memory), MaxConcurrency: fmt.Sprint(s.MaxConcurrency), Public: s.Public})
}

func (h *Handler) renderService(c *call, status int, msg string, s services.Service, f serviceForm) error {
	st, err := h.cfg.Services.Stats(c.ctx, c.s.accountID, s.Name)
	if err != nil {
		return serviceError(err)
	}
	def, _ := jsonIndent(s)
	data := struct {
		Service    services.Service
		Definition string
		Form       serviceForm
		Live       serviceLive
	}{s, def, f, liveOf(st)}
	return h.render(c, status, "service", view{Title: "Service " + s.Name, Nav: "services", Error: msg, Data: data})
}

// updateService applies the form to one of the caller's services.
func (h *Handler) updateService(c *call) error {
	s, err := h.ownService(c.ctx, c.s.accountID, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	f := formOf(c.r)
	_, spec, err := f.spec()
	if err == nil {
		if _, err = h.cfg.Services.Update(c.ctx, c.s.accountID, s.Name, spec); err == nil {
			http.Redirect(c.w, c.r, "/ui/services/"+url.PathEscape(s.Name), http.StatusSeeOther)
			return nil
		}
	}
	status, msg := h.explain(c, serviceError(err))
	return h.renderService(c, status, msg, s, f)
}

// deleteService removes one of the caller's services.
func (h *Handler) deleteService(c *call) error {
	s, err := h.ownService(c.ctx, c.s.accountID, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	if err := h.cfg.Services.Remove(c.ctx, c.s.accountID, s.Name); err != nil {
		return serviceError(err)
	}
	http.Redirect(c.w, c.r, "/ui/services", http.StatusSeeOther)
	return nil
}

// serviceStats is the live part of a service's page, for svc.js.
func (h *Handler) serviceStats(c *call) error {
	s, err := h.ownService(c.ctx, c.s.accountID, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	st, err := h.cfg.Services.Stats(c.ctx, c.s.accountID, s.Name)
	if err != nil {
		return serviceError(err)
	}
	return h.renderFragment(c, "service", "live", liveOf(st))
}

// serviceLive is a service's counters and latency histogram.
type serviceLive struct {
	services.Stats
	Codes []codeCount
	Hist  histogram
}

type codeCount struct {
	Code string
	N    int64
}

func liveOf(st services.Stats) serviceLive {
	l := serviceLive{Stats: st, Hist: latencyHistogram(st.Histogram)}
	for code, n := range st.ByStatus {
		l.Codes = append(l.Codes, codeCount{code, n})
	}
	sort.Slice(l.Codes, func(i, j int) bool { return l.Codes[i].Code < l.Codes[j].Code })
	return l
}
