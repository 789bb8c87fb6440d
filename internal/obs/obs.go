package obs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type ctxKey struct{}

// Info is the request-scoped record the middleware keeps. Handlers may set
// the API, operation and account; the fields are read once the handler
// returns. One goroutine (the handler's) writes them.
type Info struct {
	ID      string
	API     string
	Op      string
	Account string
	// AccountID is the account's stable id (what ownership compares);
	// Recent keys failures by it, never by the name.
	AccountID string
	Logger    *slog.Logger
	// Stream marks a long-lived answer (server-sent events): its duration
	// is no latency, so Recent leaves it out.
	Stream bool
	// Handed marks a request whose connection went to a direct worker
	// with it: the worker answers it and reports it (Metrics.Record),
	// so the middleware neither logs nor counts it.
	Handed bool
}

// FromContext returns the request's Info, or a fresh one with a discard
// logger when ctx carries none (tests, background work).
func FromContext(ctx context.Context) *Info {
	if in, ok := ctx.Value(ctxKey{}).(*Info); ok {
		return in
	}
	return &Info{Logger: slog.New(slog.DiscardHandler)}
}

// SetOp names the API and operation of the current request.
func SetOp(ctx context.Context, api, op string) {
	if in, ok := ctx.Value(ctxKey{}).(*Info); ok {
		in.API, in.Op = api, op
	}
}

// Logger returns the request's logger (it carries request_id).
func Logger(ctx context.Context) *slog.Logger { return FromContext(ctx).Logger }

// LoggerOr returns the request's logger when ctx belongs to a request, and
// fallback (a component's logger) for background work.
func LoggerOr(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if in, ok := ctx.Value(ctxKey{}).(*Info); ok {
		return in.Logger
	}
	return fallback
}

// RequestID returns the request's id, or "" outside a request.
func RequestID(ctx context.Context) string { return FromContext(ctx).ID }

// Metrics are a node's Prometheus collectors, registered on their own
// registry so two nodes can live in one process.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	// Recent is the last hour of requests, for the dashboard.
	Recent *Recent
}

// NewMetrics creates and registers the HTTP collectors, plus Go runtime and
// process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "insitu_http_requests_total", Help: "HTTP requests by API, operation and status code.",
		}, []string{"api", "op", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "insitu_http_request_duration_seconds", Help: "HTTP request latency by API and operation.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"api", "op"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "insitu_http_received_bytes_total", Help: "Request body bytes read, by API.",
		}, []string{"api"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "insitu_http_sent_bytes_total", Help: "Response body bytes written, by API.",
		}, []string{"api"}),
		Recent: &Recent{},
	}
	m.Registry.MustRegister(m.requests, m.latency, m.bytesIn, m.bytesOut,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Middleware wraps next with request ids, logging and metrics.
func (m *Metrics) Middleware(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newID()
		in := &Info{ID: id, API: "other", Op: "unknown", Logger: logger.With("request_id", id)}
		w.Header().Set("x-amz-request-id", id)
		w.Header().Set("x-amz-id-2", id)
		cw := &countingWriter{ResponseWriter: w, code: http.StatusOK}
		// Wrap the body on a copy of the request: net/http must keep seeing
		// its own body reader on the original to answer Expect:
		// 100-continue requests that are refused before their body is read.
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, in))
		var body *countingReader
		if r.Body != nil && r.Body != http.NoBody {
			body = &countingReader{ReadCloser: r.Body}
			r.Body = body
		}
		// A handler may abort a response it cannot finish cleanly
		// (http.ErrAbortHandler); account for it, then let net/http cut
		// the connection.
		defer func() {
			if p := recover(); p != nil {
				if !cw.wroteHeader {
					cw.code = http.StatusInternalServerError
				}
				m.observe(in, r, cw, body, start, "aborted")
				panic(p)
			}
		}()
		next.ServeHTTP(cw, r)
		if !in.Handed {
			m.observe(in, r, cw, body, start, "")
		}
	})
}

// observe records metrics and the request log line.
func (m *Metrics) observe(in *Info, r *http.Request, cw *countingWriter, body *countingReader, start time.Time, note string) {
	var nin int64
	if body != nil {
		nin = body.n.Load()
	}
	m.Record(r.Context(), in.Logger, Line{API: in.API, Op: in.Op, Account: in.Account, AccountID: in.AccountID,
		ID: in.ID, Method: r.Method, Path: r.URL.Path, Status: cw.code, In: nin, Out: cw.n,
		Start: start, Dur: time.Since(start), Stream: in.Stream, Note: note})
}

// Line is one request as the metrics and the request log see it.
type Line struct {
	API, Op, Account, AccountID string
	ID, Method, Path            string
	Status                      int
	In, Out                     int64 // body bytes
	Start                       time.Time
	Dur                         time.Duration
	Stream                      bool   // see Info.Stream
	Note                        string // "aborted": cut after its header
	// Direct marks a request a direct service worker answered: its
	// line carries request_id and direct=true itself (the logger given
	// is not the request's).
	Direct bool
}

// Record counts a request in the metrics and Recent and writes its log
// line on logger (which carries its request_id, unless l.Direct says the
// line must). The middleware calls it
// for each request it serves; a direct worker's requests reach it from
// the worker's journal. Safe for concurrent use.
func (m *Metrics) Record(ctx context.Context, logger *slog.Logger, l Line) {
	m.requests.WithLabelValues(l.API, l.Op, strconv.Itoa(l.Status)).Inc()
	m.latency.WithLabelValues(l.API, l.Op).Observe(l.Dur.Seconds())
	m.bytesIn.WithLabelValues(l.API).Add(float64(l.In))
	m.bytesOut.WithLabelValues(l.API).Add(float64(l.Out))
	if !l.Stream {
		m.Recent.Observe(l.Start, l.Dur, l.Status, Failure{AccountID: l.AccountID, API: l.API, Op: l.Op, Method: l.Method, Path: l.Path, RequestID: l.ID})
	}
	lvl := slog.LevelInfo
	switch {
	case l.Status >= 500:
		lvl = slog.LevelError
	case l.Note != "":
		lvl = slog.LevelWarn // cut after its header: the client saw a failure
	}
	var direct []slog.Attr
	if l.Direct {
		direct = []slog.Attr{slog.String("request_id", l.ID), slog.Bool("direct", true)}
	}
	logger.LogAttrs(ctx, lvl, "request", append(direct,
		slog.String("method", l.Method), slog.String("path", l.Path),
		slog.String("api", l.API), slog.String("op", l.Op), slog.String("account", l.Account),
		slog.Int("status", l.Status), slog.Int64("in", l.In), slog.Int64("out", l.Out),
		slog.Duration("dur", l.Dur), slog.String("note", l.Note))...)
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type countingWriter struct {
	http.ResponseWriter
	code        int
	n           int64
	wroteHeader bool
}

func (c *countingWriter) WriteHeader(code int) {
	if !c.wroteHeader {
		c.code, c.wroteHeader = code, true
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	c.wroteHeader = true
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// ReadFrom keeps io.Copy on the fast path (sendfile) for the wrapped writer.
func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	c.wroteHeader = true
	n, err := io.Copy(c.ResponseWriter, r)
	c.n += n
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// Flush implements http.Flusher.
func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type countingReader struct {
	io.ReadCloser
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}
