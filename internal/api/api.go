package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/services"
	"github.com/insitu-cloud/insitu/internal/store"
)

// Handler serves /api/v1/.
type Handler struct {
	verifier  *sigv4.Verifier
	accounts  *auth.Accounts
	apps      *apps.Registry
	runs      Runs
	services  *services.Manager
	engine    store.Engine
	instances InstanceCounter
	mux       *http.ServeMux
}

// Deps are the services the API exposes.
type Deps struct {
	Verifier *sigv4.Verifier
	Accounts *auth.Accounts
	Apps     *apps.Registry
	Runs     Runs
	Services *services.Manager
	// Engine is counted in when an account is removed (buckets it owns);
	// nil counts no buckets.
	Engine store.Engine
	// Jobs runs map/reduce jobs; nil serves no jobs API.
	Jobs Jobs
	// Cluster serves /api/v1/cluster and object replicas; nil when alone.
	Cluster Cluster
	// Instances is counted in when an account is removed (instances it
	// has that are not terminated); nil counts none.
	Instances InstanceCounter
}

// InstanceCounter counts an account's instances that are not terminated
// (a stopped one keeps its disk). Safe for concurrent use.
type InstanceCounter interface {
	Live(ctx context.Context, accountID string) (int, error)
}

// New returns the native API handler.
func New(d Deps) *Handler {
	h := &Handler{verifier: d.Verifier, accounts: d.Accounts, apps: d.Apps, runs: d.Runs, services: d.Services, engine: d.Engine, instances: d.Instances, mux: http.NewServeMux()}
	h.route("GET /api/v1/whoami", "WhoAmI", false, h.whoami)
	h.routeApps()
	h.routeRuns()
	h.routeJobs(d.Jobs)
	h.routeServices()
	h.routeCluster(d.Cluster)
	h.route("GET /api/v1/admin/users", "ListUsers", true, h.listUsers)
	h.route("POST /api/v1/admin/users", "AddUser", true, h.addUser)
	h.route("DELETE /api/v1/admin/users/{name}", "RemoveUser", true, h.removeUser)
	h.route("POST /api/v1/admin/users/{name}/keys", "RotateKey", true, h.rotateKey)
	h.route("PUT /api/v1/admin/users/{name}/caps", "SetCaps", true, h.setCaps)
	return h
}

// call is one authenticated API request.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	ctx     context.Context
	account auth.Account
	body    io.Reader
}

type handlerFunc func(c *call) error

// Error is an API error with its HTTP status.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func (h *Handler) route(pattern, op string, rootOnly bool, fn handlerFunc) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		obs.SetOp(ctx, "api", op)
		res, err := h.verifier.Verify(ctx, r)
		if err != nil {
			writeError(ctx, w, err)
			return
		}
		acct, err := h.accounts.Get(ctx, res.Credential.Account)
		if err == nil && acct.ID != res.Credential.AccountID {
			err = auth.ErrNoSuchAccount // removed and its name reused since the key was checked
		}
		if errors.Is(err, auth.ErrNoSuchAccount) {
			err = &Error{Status: http.StatusForbidden, Code: "AccessDenied", Message: "account not found"}
		}
		if err != nil {
			writeError(ctx, w, err)
			return
		}
		info := obs.FromContext(ctx)
		info.Account, info.AccountID = acct.Name, acct.ID
		if rootOnly && !acct.Root {
			writeError(ctx, w, &Error{Status: http.StatusForbidden, Code: "AccessDenied", Message: "only the root account may do this"})
			return
		}
		body := io.Reader(r.Body)
		if res.Body != nil {
			body = res.Body
		}
		if err := fn(&call{w: w, r: r, ctx: ctx, account: acct, body: body}); err != nil {
			writeError(ctx, w, err)
		}
	})
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers err as a JSON error. A server-side failure (5xx) is
// logged with its cause on the request's logger (it carries request_id):
// the client sees only "internal error".
func writeError(ctx context.Context, w http.ResponseWriter, err error) {
	e := logInternal(ctx, err, apiError(err))
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Status, map[string]*Error{"error": e})
}

// logInternal logs err, the cause of e, at Error level on the request's
// logger when e is a server-side failure (5xx other than 503, which says
// "busy, retry"), and returns e.
func logInternal(ctx context.Context, err error, e *Error) *Error {
	if e.Status >= 500 && e.Status != http.StatusServiceUnavailable {
		obs.Logger(ctx).LogAttrs(ctx, slog.LevelError, "api: internal error",
			slog.String("code", e.Code), slog.String("err", err.Error()))
	}
	return e
}

// apiError maps err to the API error the client sees.
func apiError(err error) *Error {
	var e *Error
	var se *sigv4.Error
	switch {
	case errors.As(err, &e):
	case errors.As(err, &se):
		e = &Error{Status: se.Status, Code: se.Code, Message: se.Message}
	case errors.Is(err, auth.ErrNoSuchAccount):
		e = &Error{Status: http.StatusNotFound, Code: "NoSuchUser", Message: "no such user"}
	case errors.Is(err, auth.ErrAccountExists):
		e = &Error{Status: http.StatusConflict, Code: "UserExists", Message: "a user with that name exists"}
	case errors.Is(err, auth.ErrInvalidName):
		e = &Error{Status: http.StatusBadRequest, Code: "InvalidName", Message: err.Error()}
	case errors.Is(err, auth.ErrAccountInUse):
		e = &Error{Status: http.StatusConflict, Code: "AccountInUse", Message: err.Error()}
	case errors.Is(err, auth.ErrRootImmutable):
		e = &Error{Status: http.StatusBadRequest, Code: "RootImmutable", Message: err.Error()}
	default:
		e = appError(err)
	}
	return e
}

// appError maps registry, run and storage errors.
func appError(err error) *Error {
	var e *Error
	switch {
	case errors.Is(err, apps.ErrNoSuchApp):
		e = &Error{Status: http.StatusNotFound, Code: "NoSuchApp", Message: "no such app"}
	case errors.Is(err, apps.ErrAppExists):
		e = &Error{Status: http.StatusConflict, Code: "AppExists", Message: err.Error()}
	case errors.Is(err, apps.ErrInvalidName):
		e = &Error{Status: http.StatusBadRequest, Code: "InvalidName", Message: err.Error()}
	case errors.Is(err, apps.ErrInvalidWasm):
		e = &Error{Status: http.StatusBadRequest, Code: "InvalidModule", Message: err.Error()}
	case errors.Is(err, apps.ErrTooLarge):
		e = &Error{Status: http.StatusRequestEntityTooLarge, Code: "ModuleTooLarge", Message: err.Error()}
	case errors.Is(err, services.ErrNoSuchService):
		e = &Error{Status: http.StatusNotFound, Code: "NoSuchService", Message: "no such service"}
	case errors.Is(err, services.ErrExists):
		e = &Error{Status: http.StatusConflict, Code: "ServiceExists", Message: err.Error()}
	case errors.Is(err, services.ErrInvalid):
		e = &Error{Status: http.StatusBadRequest, Code: "InvalidService", Message: err.Error()}
	case errors.Is(err, services.ErrAccessDenied):
		e = &Error{Status: http.StatusForbidden, Code: "AccessDenied", Message: err.Error()}
	case errors.Is(err, runs.ErrNoSuchRun):
		e = &Error{Status: http.StatusNotFound, Code: "NoSuchRun", Message: "no such run"}
	case errors.Is(err, runs.ErrAccessDenied):
		e = &Error{Status: http.StatusForbidden, Code: "AccessDenied", Message: err.Error()}
	case errors.Is(err, runs.ErrBadRequest):
		e = &Error{Status: http.StatusBadRequest, Code: "InvalidRequest", Message: err.Error()}
	case errors.Is(err, runs.ErrNoOpenWith):
		e = &Error{Status: http.StatusNotFound, Code: "NoOpenWith", Message: err.Error()}
	case errors.Is(err, runs.ErrBusy):
		e = &Error{Status: http.StatusServiceUnavailable, Code: "SlowDown", Message: err.Error()}
	case errors.Is(err, runs.ErrShuttingDown):
		e = &Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: err.Error()}
	case errors.Is(err, auth.ErrNotOwner):
		e = &Error{Status: http.StatusForbidden, Code: "AccessDenied", Message: "access denied"}
	case errors.Is(err, store.ErrNoSuchBucket):
		e = &Error{Status: http.StatusNotFound, Code: "NoSuchBucket", Message: "the specified bucket does not exist"}
	case errors.Is(err, store.ErrNoSuchKey):
		e = &Error{Status: http.StatusNotFound, Code: "NoSuchKey", Message: "the specified key does not exist"}
	default:
		e = &Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: "internal error"}
	}
	return e
}

// decode reads a JSON body of at most 1 MiB into v.
func decode(c *call, v any) error { return decodeLimit(c, v, 1<<20) }

// decodeLimit reads a JSON body of at most limit bytes into v.
func decodeLimit(c *call, v any, limit int64) error {
	dec := json.NewDecoder(io.LimitReader(c.body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			return se
		}
		if errors.Is(err, obs.ErrBodyTimeout) {
			return &Error{Status: http.StatusRequestTimeout, Code: "RequestTimeout", Message: "the request body stopped arriving"}
		}
		return &Error{Status: http.StatusBadRequest, Code: "MalformedJSON", Message: err.Error()}
	}
	return nil
}

// keyResponse is the answer to user creation and key rotation.
type keyResponse struct {
	Name      string    `json:"name"`
	AccessKey string    `json:"access_key"`
	SecretKey string    `json:"secret_key"`
	Created   time.Time `json:"created"`
}

type userEntry struct {
	Name       string    `json:"name"`
	ID         string    `json:"id"`
	Root       bool      `json:"root"`
	AccessKeys []string  `json:"access_keys"`
	Created    time.Time `json:"created"`
}

func (h *Handler) whoami(c *call) error {
	writeJSON(c.w, http.StatusOK, map[string]any{"account": c.account.Name, "id": c.account.ID, "root": c.account.Root})
	return nil
}

func (h *Handler) listUsers(c *call) error {
	all, err := h.accounts.List(c.ctx)
	if err != nil {
		return err
	}
	out := make([]userEntry, 0, len(all))
	for _, a := range all {
		e := userEntry{Name: a.Name, ID: a.ID, Root: a.Root, Created: a.Created, AccessKeys: []string{}}
		for _, k := range a.Keys {
			e.AccessKeys = append(e.AccessKeys, k.AccessKey)
		}
		out = append(out, e)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"users": out})
	return nil
}

func (h *Handler) addUser(c *call) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	a, err := h.accounts.Add(c.ctx, in.Name)
	if err != nil {
		return err
	}
	k := a.Keys[0]
	writeJSON(c.w, http.StatusCreated, keyResponse{Name: a.Name, AccessKey: k.AccessKey, SecretKey: k.Secret, Created: k.Created})
	return nil
}

// RemoveAccount removes the named account and revokes its keys, refusing
// root (auth.ErrRootImmutable) and an account that still owns buckets, app
// versions or services (auth.ErrAccountInUse, with the counts). It is what
// `insitu admin user rm` reaches (DELETE /admin/users/{name}) and what the
// dashboard calls. Safe for concurrent use.
func (h *Handler) RemoveAccount(ctx context.Context, name string) error {
	return h.accounts.Remove(ctx, name, h.holdings)
}

func (h *Handler) removeUser(c *call) error {
	if err := h.RemoveAccount(c.ctx, c.r.PathValue("name")); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// setCaps sets an account's ceilings on run limits (sizes like "256MiB",
// durations like "1m"); an empty object clears them.
func (h *Handler) setCaps(c *call) error {
	var in apps.LimitSpec
	if err := decode(c, &in); err != nil {
		return err
	}
	var caps *auth.Caps
	if in != (apps.LimitSpec{}) {
		l, err := in.Apply(sandbox.Limits{})
		if err != nil {
			return &Error{Status: http.StatusBadRequest, Code: "InvalidCaps", Message: err.Error()}
		}
		ac := auth.Caps(l)
		caps = &ac
	}
	a, err := h.accounts.SetCaps(c.ctx, c.r.PathValue("name"), caps)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"name": a.Name, "caps": a.Caps})
	return nil
}

func (h *Handler) rotateKey(c *call) error {
	name := c.r.PathValue("name")
	k, err := h.accounts.Rotate(c.ctx, name)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, keyResponse{Name: name, AccessKey: k.AccessKey, SecretKey: k.Secret, Created: k.Created})
	return nil
}
