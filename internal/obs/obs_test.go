package obs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink the server's goroutines and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records returns the JSON log records written so far.
func (s *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(s.b.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// serve starts a real HTTP server with h behind the middleware.
func serve(t *testing.T, h http.HandlerFunc) (*Metrics, *syncBuffer, *httptest.Server) {
	t.Helper()
	m, logs := NewMetrics(), &syncBuffer{}
	srv := httptest.NewServer(m.Middleware(slog.New(slog.NewJSONHandler(logs, nil)), h))
	t.Cleanup(srv.Close)
	return m, logs, srv
}

var idRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// TestMiddleware: every request gets an id (headers, context, log lines),
// one request log line at a level that follows the status, and its
// metrics by API, operation and status, with body bytes both ways.
func TestMiddleware(t *testing.T) {
	cases := []struct {
		name      string
		body      string
		handler   http.HandlerFunc
		code      int
		level     string
		note      string
		api, op   string
		in, out   int
		account   string
		handlerLn bool // the handler logged a line of its own
	}{
		{name: "ok", code: 200, level: "INFO", api: "other", op: "unknown", out: 3,
			handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }},
		{name: "named op reads body", body: "12345", code: 201, level: "INFO", api: "s3", op: "PutObject", in: 5, account: "alice",
			handler: func(w http.ResponseWriter, r *http.Request) {
				SetOp(r.Context(), "s3", "PutObject")
				FromContext(r.Context()).Account = "alice"
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(201)
			}},
		{name: "server error logs at error", code: 503, level: "ERROR", api: "api", op: "X", out: 4, handlerLn: true,
			handler: func(w http.ResponseWriter, r *http.Request) {
				SetOp(r.Context(), "api", "X")
				Logger(r.Context()).Error("cause", "err", "boom")
				w.WriteHeader(503)
				io.WriteString(w, "down")
			}},
		{name: "aborted after the header", code: 200, level: "WARN", api: "svc", op: "Request", note: "aborted", out: 4,
			handler: func(w http.ResponseWriter, r *http.Request) {
				SetOp(r.Context(), "svc", "Request")
				io.WriteString(w, "part")
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			}},
		{name: "aborted before the header", code: 500, level: "ERROR", api: "svc", op: "Request", note: "aborted",
			handler: func(w http.ResponseWriter, r *http.Request) {
				SetOp(r.Context(), "svc", "Request")
				panic(http.ErrAbortHandler)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ctxID string
			m, logs, srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				ctxID = RequestID(r.Context())
				c.handler(w, r)
			})
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/p/q", strings.NewReader(c.body))
			resp, err := srv.Client().Do(req)
			id := ""
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				id = resp.Header.Get("x-amz-request-id")
				if resp.StatusCode != c.code || !idRE.MatchString(id) || resp.Header.Get("x-amz-id-2") != id || ctxID != id {
					t.Fatalf("%d id %q/%q ctx %q", resp.StatusCode, id, resp.Header.Get("x-amz-id-2"), ctxID)
				}
			} else if c.note != "aborted" || c.code != 500 {
				t.Fatal(err)
			}
			srv.Close() // the request's log line is written
			checkLog(t, logs.records(t), c.handlerLn, map[string]any{
				"msg": "request", "level": c.level, "request_id": ctxID, "method": "POST", "path": "/p/q",
				"api": c.api, "op": c.op, "account": c.account, "status": float64(c.code),
				"in": float64(c.in), "out": float64(c.out), "note": c.note})
			if got := counter(t, m, "insitu_http_requests_total", "api="+c.api, "op="+c.op, "code="+fmt.Sprint(c.code)); got != 1 {
				t.Errorf("requests_total{%s,%s,%d} = %v", c.api, c.op, c.code, got)
			}
			in, out := counter(t, m, "insitu_http_received_bytes_total", "api="+c.api), counter(t, m, "insitu_http_sent_bytes_total", "api="+c.api)
			if in != float64(c.in) || out != float64(c.out) {
				t.Errorf("bytes in %v out %v", in, out)
			}
		})
	}
}

// counter returns the value of the counter name whose labels are
// name=value pairs, or -1.
func counter(t *testing.T, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, mt := range f.GetMetric() {
			var pairs []string
			for _, l := range mt.GetLabel() {
				pairs = append(pairs, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(pairs)
			if slices.Equal(pairs, slices.Sorted(slices.Values(labels))) {
				return mt.GetCounter().GetValue()
			}
		}
	}
	return -1
}

// checkLog finds the request record and checks its fields; with handlerLn,
// the handler's own record carries the same request_id.
func checkLog(t *testing.T, recs []map[string]any, handlerLn bool, want map[string]any) {
	t.Helper()
	var req, own map[string]any
	for _, r := range recs {
		switch r["msg"] {
		case "request":
			req = r
		default:
			own = r
		}
	}
	if req == nil {
		t.Fatalf("no request record in %v", recs)
	}
	for k, v := range want {
		if req[k] != v {
			t.Errorf("request record %s = %v, want %v", k, req[k], v)
		}
	}
	if handlerLn && (own == nil || own["request_id"] != want["request_id"]) {
		t.Errorf("handler record %v lacks request_id %v", own, want["request_id"])
	}
}

// TestRequestIDsUnique: two requests never share an id.
func TestRequestIDsUnique(t *testing.T) {
	_, _, srv := serve(t, func(w http.ResponseWriter, r *http.Request) {})
	seen := map[string]bool{}
	for range 50 {
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Header.Get("x-amz-request-id")
		if seen[id] {
			t.Fatalf("id %s twice", id)
		}
		seen[id] = true
	}
}

// TestOutsideRequest: background work gets a discarding logger, no id,
// and LoggerOr's fallback; SetOp is a no-op.
func TestOutsideRequest(t *testing.T) {
	ctx := context.Background()
	SetOp(ctx, "a", "b")
	fallback := slog.New(slog.DiscardHandler)
	if RequestID(ctx) != "" || Logger(ctx) == nil || LoggerOr(ctx, fallback) != fallback || FromContext(ctx).API != "" {
		t.Fatal("outside a request")
	}
}

// TestExpectContinueRefused: a handler that refuses a request before
// reading its body gets its answer to an Expect: 100-continue client as
// the first and only response: the middleware wraps the body on its own
// copy of the request, so net/http still sees its expect-continue reader
// and neither sends "100 Continue" nor waits for the body.
func TestExpectContinueRefused(t *testing.T) {
	_, _, srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	})
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /b/k HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1048576\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("first response %d, want the handler's 403", resp.StatusCode)
	}
}
