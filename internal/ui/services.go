package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/insitu-cloud/insitu/internal/services"
)

// Services is what the dashboard needs of the services manager
// (*services.Manager): the calls the native API makes. Get is not scoped to
// an account; the dashboard checks ownership as the API does.
type Services interface {
	Create(ctx context.Context, account, name string, spec services.Spec) (services.Service, error)
	List(ctx context.Context, account string) ([]services.Service, error)
	Get(ctx context.Context, name string) (services.Service, error)
	Update(ctx context.Context, account, name string, spec services.Spec) (services.Service, error)
	Remove(ctx context.Context, account, name string) error
	Stats(ctx context.Context, account, name string) (services.Stats, error)
}

// servicesPageSize is the services a list page shows.
const servicesPageSize = 100

var errNoServices = &userError{status: http.StatusNotFound, msg: "This node serves no services."}

// serviceError words the services manager's errors.
func serviceError(err error) error {
	switch {
	case errors.Is(err, services.ErrNoSuchService):
		return &userError{status: http.StatusNotFound, msg: "You have no service of that name."}
	case errors.Is(err, services.ErrExists):
		return &userError{status: http.StatusConflict, msg: "A service of that name exists."}
	case errors.Is(err, services.ErrInvalid):
		return &userError{status: http.StatusBadRequest, msg: "The service was refused: " + strings.TrimPrefix(err.Error(), "services: invalid service: ")}
	case errors.Is(err, services.ErrAccessDenied):
		return &userError{status: http.StatusForbidden, msg: "You may not bind that app or bucket."}
	}
	return err
}

// serviceRow is one line of the services list.
type serviceRow struct {
	services.Service
	Stats services.Stats
}

// serviceForm is the create/update form, echoed back when refused.
type serviceForm struct {
	Name, App, Timeout, Memory, MaxConcurrency, Definition string
	Public                                                 bool
}

// serviceList shows the caller's services with their live counters.
func (h *Handler) serviceList(c *call) error {
	return h.renderServices(c, http.StatusOK, "", serviceForm{Timeout: "10s", Memory: "64MiB"})
}

func (h *Handler) renderServices(c *call, status int, msg string, f serviceForm) error {
	if h.cfg.Services == nil {
		return errNoServices
	}
	all, err := h.cfg.Services.List(c.ctx, c.s.accountID)
	if err != nil {
		return err
	}
	after, next := c.r.URL.Query().Get("after"), ""
	var rows []serviceRow
	for _, s := range all {
		if s.Name <= after {
			continue
		}
		if len(rows) == servicesPageSize {
			next = rows[len(rows)-1].Name
			break
		}
		st, _ := h.cfg.Services.Stats(c.ctx, c.s.accountID, s.Name)
		rows = append(rows, serviceRow{s, st})
	}
	data := struct {
		Services []serviceRow
		Next     string
		Form     serviceForm
	}{rows, next, f}
	return h.render(c, status, "services", view{Title: "Services", Nav: "services", Error: msg, Data: data})
}

// formOf reads the service form.
func formOf(r *http.Request) serviceForm {
	return serviceForm{Name: strings.TrimSpace(r.PostFormValue("name")), App: strings.TrimSpace(r.PostFormValue("app")),
		Timeout: strings.TrimSpace(r.PostFormValue("timeout")), Memory: strings.TrimSpace(r.PostFormValue("memory")),
		MaxConcurrency: strings.TrimSpace(r.PostFormValue("max_concurrency")), Definition: r.PostFormValue("definition"),
		Public: r.PostFormValue("public") != ""}
}

// spec is the form as the native API's body: the pasted definition
// ({"name": ..., plus services.Spec}) when given, else the fields.
func (f serviceForm) spec() (name string, spec services.Spec, err error) {
	if strings.TrimSpace(f.Definition) != "" {
		var in struct {
			Name string `json:"name"`
			services.Spec
		}
		d := json.NewDecoder(bytes.NewReader([]byte(f.Definition)))
		d.DisallowUnknownFields()
		if err := d.Decode(&in); err != nil {
			return "", spec, &userError{status: http.StatusBadRequest, msg: "The definition is not valid JSON: " + err.Error()}
		}
		return cmpOr(in.Name, f.Name), in.Spec, nil
	}
	public := f.Public
	spec = services.Spec{App: f.App, Public: &public, Timeout: f.Timeout, Memory: f.Memory}
	if f.MaxConcurrency != "" {
		if spec.MaxConcurrency, err = strconv.Atoi(f.MaxConcurrency); err != nil {
			return "", spec, &userError{status: http.StatusBadRequest, msg: "Max concurrency is a number."}
		}
	}
	return f.Name, spec, nil
}

// createService creates a service from the form.
func (h *Handler) createService(c *call) error {
	if h.cfg.Services == nil {
		return errNoServices
	}
	f := formOf(c.r)
	name, spec, err := f.spec()
	if err == nil {
		var s services.Service
		if s, err = h.cfg.Services.Create(c.ctx, c.s.accountID, name, spec); err == nil {
			http.Redirect(c.w, c.r, "/ui/services/"+url.PathEscape(s.Name), http.StatusSeeOther)
			return nil
		}
	}
	status, msg := h.explain(c, serviceError(err))
	return h.renderServices(c, status, msg, f)
}
