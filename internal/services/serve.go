package services

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/store"
)

// MaxRequestBody is the request body quota of a service request (64 MiB).
const MaxRequestBody = 64 << 20

// Handler serves service requests. Build it with Manager.Handler.
type Handler struct {
	m        *Manager
	verifier *sigv4.Verifier
	domain   string
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	runTime  *prometheus.HistogramVec
}

// Handler returns the HTTP face of m: requests for /svc/NAME/... and
// NAME.svc.domain. Metrics go to reg when it is not nil; they carry a
// public service's name, and aggregate private services under
// PrivateLabel.
func (m *Manager) Handler(v *sigv4.Verifier, domain string, reg prometheus.Registerer) *Handler {
	h := &Handler{m: m, verifier: v, domain: strings.ToLower(domain),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "insitu_service_requests_total", Help: "Service requests by service (public services by name, private ones together as _private) and status code.",
		}, []string{"service", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "insitu_service_request_duration_seconds", Help: "Service request latency.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}, []string{"service"}),
		runTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "insitu_service_instance_seconds", Help: "Wall time of the per-request sandbox instance (start to exit).",
			Buckets: prometheus.ExponentialBuckets(0.00002, 2, 16),
		}, []string{"service"}),
	}
	if reg != nil {
		reg.MustRegister(h.requests, h.latency, h.runTime)
	}
	if m.direct != nil {
		obs := h.observe
		m.direct.observe.Store(&obs)
		if reg != nil {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "insitu_service_direct_workers", Help: "Direct service workers running (draining ones included).",
			}, func() float64 { return float64(m.DirectWorkers()) }))
		}
	}
	return h
}

// Match reports whether r is for a service, and which: by Host
// NAME.svc.DOMAIN (the whole path is PATH_INFO) or by path /svc/NAME/...
func (h *Handler) Match(r *http.Request) (name, scriptName, pathInfo string, ok bool) {
	host := strings.ToLower(r.Host)
	if hst, _, err := net.SplitHostPort(host); err == nil {
		host = hst
	}
	if h.domain != "" {
		if n, found := strings.CutSuffix(host, ".svc."+h.domain); found && n != "" && !strings.Contains(n, ".") {
			return n, "", r.URL.Path, true
		}
	}
	rest, found := strings.CutPrefix(r.URL.Path, "/svc/")
	if !found || rest == "" {
		return "", "", "", false
	}
	name, tail, slash := strings.Cut(rest, "/")
	if slash {
		pathInfo = "/" + tail
	}
	return name, "/svc/" + name, pathInfo, true
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	name, script, pathInfo, ok := h.Match(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	obs.SetOp(ctx, "svc", "Request")
	code, run := h.serve(ctx, w, r, name, script, pathInfo)
	if code == 0 {
		return // handed to a direct worker, which answers it
	}
	if _, known := h.m.statsFor(name, false); known || code != http.StatusNotFound {
		h.observe(ctx, name, code, time.Since(start), run)
	}
}

// observe counts one request of service name in its stats and metrics:
// its status, its latency in the server and its instance's run time.
// Direct workers' requests come here from their journals.
func (h *Handler) observe(ctx context.Context, name string, code int, latency, run time.Duration) {
	st, _ := h.m.statsFor(name, true)
	st.observe(time.Now(), code, latency, run)
	label := h.metricLabel(ctx, name)
	h.requests.WithLabelValues(label, strconv.Itoa(code)).Inc()
	h.latency.WithLabelValues(label).Observe(latency.Seconds())
	if run > 0 {
		h.runTime.WithLabelValues(label).Observe(run.Seconds())
	}
}

// PrivateLabel is the service label under which /metrics aggregates every
// private service (and requests for a service that could not be read): an
// anonymous scrape names public services only. No service name contains
// "_".
const PrivateLabel = "_private"

// metricLabel is the service label of name's metrics: its name when the
// service is public now, PrivateLabel otherwise.
func (h *Handler) metricLabel(ctx context.Context, name string) string {
	if s, err := h.m.Get(ctx, name); err == nil && s.Public {
		return name
	}
	return PrivateLabel
}

// plain writes a short text error; the guest never produced a response.
func plain(w http.ResponseWriter, code int, msg string) int {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
	return code
}

// internal answers 500 with msg and logs its cause at Error level on the
// request's logger (it carries request_id); the client sees only msg.
func internal(ctx context.Context, w http.ResponseWriter, msg string, cause error) int {
	obs.Logger(ctx).Error("services: "+msg, "err", cause)
	return plain(w, http.StatusInternalServerError, msg)
}

// serve runs one request and returns its status and the instance's run time.
func (h *Handler) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, name, script, pathInfo string) (int, time.Duration) {
	s, err := h.m.Get(ctx, name)
	if errors.Is(err, ErrNoSuchService) {
		return plain(w, http.StatusNotFound, "no such service"), 0
	}
	if err != nil {
		return internal(ctx, w, "service lookup failed", err), 0
	}
	if set := h.m.direct; set != nil && directOK(r, s, script) && set.handoff(ctx, w, r, s) {
		return 0, 0
	}
	body, tenant, code := h.admit(ctx, w, r, s)
	if code != 0 {
		return code, 0
	}
	if !h.m.acquire(name, s.MaxConcurrency) {
		w.Header().Set("Retry-After", "1")
		return plain(w, http.StatusServiceUnavailable, "service at its concurrency limit; retry"), 0
	}
	defer h.m.release(name)

	inputs, err := h.m.mounted(ctx, s)
	if err != nil {
		return internal(ctx, w, "mounting the service's objects failed", err), 0
	}
	// Bodies stream both ways: let the guest answer while it still reads
	// (net/http otherwise cuts the request body off once the response
	// starts).
	_ = http.NewResponseController(w).EnableFullDuplex()
	resp := &cgiResponse{w: w, script: script}
	in := &limitedBody{r: body, left: MaxRequestBody}
	var out *runs.ObjectRef
	if s.Out != nil {
		out = &runs.ObjectRef{Bucket: s.Out.Bucket, Key: s.Out.Prefix}
	}
	var stdin io.Reader = in
	if r.ContentLength == 0 {
		stdin = nil // no body: no stdin pipe, no copy goroutine
	}
	rec, err := h.m.runs.Run(ctx, runs.Request{
		Account: s.Owner, Tenant: tenant, Kind: "service", App: s.App, OutPrefix: out,
		Env:    cgiEnv(r, script, pathInfo, s.Env),
		Stdin:  stdin,
		Stdout: resp, Stderr: io.Discard, Inputs: inputs,
		Limits: sandbox.Limits{Timeout: s.Timeout, Memory: s.Memory},
	})
	if err != nil {
		return couldNotRun(ctx, w, name, resp, err), 0
	}
	return answer(ctx, w, rec, in, resp), time.Duration(rec.WallMS * float64(time.Millisecond))
}

// admit checks a private service's signature and reads a small body
// before the request takes a slot or a sandbox worker. It returns the
// body to give the guest and the admission tenant, or the status it
// already answered (non-zero).
func (h *Handler) admit(ctx context.Context, w http.ResponseWriter, r *http.Request, s Service) (io.Reader, string, int) {
	body := io.Reader(r.Body)
	tenant := runs.AnonymousTenant(s.Owner)
	if !s.Public {
		res, err := h.verifier.Verify(ctx, r)
		var authErr *sigv4.Error
		if err != nil && !errors.As(err, &authErr) {
			// The key store failed: a server error, not a refusal.
			obs.Logger(ctx).Error("services: verifying the signature", "err", err)
			return nil, "", plain(w, http.StatusInternalServerError, "authentication failed on a server error")
		}
		if err != nil || !auth.Owns(res.Credential.AccountID, s.Owner) {
			return nil, "", plain(w, http.StatusForbidden, "this service needs its owner's credentials (AWS SigV4)")
		}
		if res.Body != nil {
			body = res.Body
		}
		tenant = s.Owner
	}
	if r.ContentLength > MaxRequestBody {
		return nil, "", plain(w, http.StatusRequestEntityTooLarge, "request body over the service's quota")
	}
	body, err := preread(w, r, body, cmp.Or(s.Timeout, DefaultTimeout))
	if errors.Is(err, errBodyTimeout) {
		w.Header().Set("Connection", "close")
		return nil, "", plain(w, http.StatusRequestTimeout, "the request body did not arrive in time")
	}
	if err != nil {
		return nil, "", plain(w, http.StatusBadRequest, "reading the request body failed")
	}
	return body, tenant, 0
}

// couldNotRun answers a run that was refused or could not start: 503
// when the node is busy or closing, 502 otherwise (logged).
func couldNotRun(ctx context.Context, w http.ResponseWriter, name string, resp *cgiResponse, err error) int {
	busy := errors.Is(err, runs.ErrBusy) || errors.Is(err, runs.ErrShuttingDown)
	gone := ctx.Err() != nil && errors.Is(err, context.Canceled)
	switch {
	case gone:
		obs.Logger(ctx).Info("services: the client went away before its answer", "service", name)
	case !busy:
		obs.Logger(ctx).Error("services: the app could not run", "service", name, "err", err)
	}
	if resp.started {
		panic(http.ErrAbortHandler)
	}
	if gone {
		// Nobody reads it; the status keeps the request log and the
		// metrics from counting a server failure.
		return plain(w, statusClientClosed, "client closed request")
	}
	if busy {
		w.Header().Set("Retry-After", "1")
		return plain(w, http.StatusServiceUnavailable, err.Error())
	}
	return plain(w, http.StatusBadGateway, "the service's app could not run: "+err.Error())
}

// statusClientClosed is the status recorded for a request whose client
// went away first (nginx's 499).
const statusClientClosed = 499

// answer finishes the response of a run that ended: the guest's own when
// it wrote a whole one, else the status its end calls for. Once headers
// are out, a failure cuts the connection rather than pass a truncated
// body off as whole.
//
// A run whose client went away while it ran may still have ended on its
// own (the sandbox lets it finish within its cancel grace): nobody reads
// its answer, and the request counts as the client's 499.
func answer(ctx context.Context, w http.ResponseWriter, rec *runs.Record, in *limitedBody, resp *cgiResponse) int {
	if ctx.Err() != nil {
		return statusClientClosed
	}
	exceeded, bodyErr := in.outcome()
	if resp.started {
		if !rec.OK() || exceeded || bodyErr != nil {
			panic(http.ErrAbortHandler)
		}
		return resp.status()
	}
	switch {
	case exceeded:
		return plain(w, http.StatusRequestEntityTooLarge, "request body over the service's quota")
	case bodyErr != nil:
		return plain(w, http.StatusBadRequest, "reading the request body failed")
	case rec.Status == sandbox.StatusTimeout:
		return plain(w, http.StatusGatewayTimeout, "the service did not answer in time")
	case !rec.OK():
		return plain(w, http.StatusBadGateway, "the service failed: "+string(rec.Status)+" "+rec.Error)
	default:
		return plain(w, http.StatusBadGateway, "the service wrote no valid CGI response")
	}
}

// limitedBody passes at most left bytes of a request body to the guest and
// remembers whether the client sent more.
// Read runs on the sandbox's stdin pump goroutine, which may still be in a
// Read when the run returns: the outcome fields are guarded by mu.
type limitedBody struct {
	r    io.Reader
	left int64

	mu       sync.Mutex
	exceeded bool
	err      error // a read error other than EOF: the guest saw a cut stream
}

// outcome reports whether the body ran over quota or failed.
func (l *limitedBody) outcome() (exceeded bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.exceeded, l.err
}

var errBodyQuota = errors.New("services: request body over quota")

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			l.mu.Lock()
			l.exceeded = true
			l.mu.Unlock()
			return 0, errBodyQuota
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if err != nil && err != io.EOF {
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
	}
	return n, err
}

// mounted lists the objects a service's mounts expose, up to
// MaxMountedObjects, as run inputs.
func (m *Manager) mounted(ctx context.Context, s Service) ([]runs.InputSpec, error) {
	var out []runs.InputSpec
	for _, mt := range s.Mounts {
		after := ""
		for {
			page, err := m.engine.ListObjects(ctx, mt.Bucket, store.ListOptions{Prefix: mt.Prefix, After: after, MaxKeys: 1000})
			if err != nil {
				return nil, err
			}
			for _, o := range page.Objects {
				rel := strings.TrimPrefix(o.Key, mt.Prefix)
				if rel == "" || len(out) >= MaxMountedObjects {
					continue
				}
				p := strings.Trim(mt.Path, "/")
				if p != "" {
					p += "/"
				}
				out = append(out, runs.InputSpec{Object: runs.ObjectRef{Bucket: mt.Bucket, Key: o.Key}, Path: p + rel})
			}
			if !page.IsTruncated || len(out) >= MaxMountedObjects {
				break
			}
			after = page.NextAfter
		}
	}
	return out, nil
}

func (m *Manager) acquire(name string, limit int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inUse[name] >= limit {
		return false
	}
	m.inUse[name]++
	return true
}

func (m *Manager) release(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inUse[name]--; m.inUse[name] <= 0 {
		delete(m.inUse, name)
	}
}

func (m *Manager) statsFor(name string, create bool) (*stats, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.stats[name]
	if !ok && create {
		st = &stats{}
		m.stats[name] = st
	}
	return st, ok
}

// Stats summarizes account's service name.
func (m *Manager) Stats(ctx context.Context, account, name string) (Stats, error) {
	s, err := m.Get(ctx, name)
	if err != nil || !auth.Owns(account, s.Owner) {
		return Stats{}, ErrNoSuchService
	}
	m.SyncDirect(ctx) // the direct requests answered so far count
	st, _ := m.statsFor(name, true)
	m.mu.Lock()
	inFlight := m.inUse[name] - m.directHeld[name] // a direct worker holds one unit while it lives
	m.mu.Unlock()
	if m.direct != nil {
		inFlight += m.direct.running(name) // ...and uses it while it runs a request
	}
	return st.summary(time.Now(), name, inFlight), nil
}
