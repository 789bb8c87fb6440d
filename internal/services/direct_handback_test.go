package services_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/client"
)

// requestLog keeps a node's JSON log lines for the tests to read.
type requestLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *requestLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lines returns the "request" lines carrying request id id.
func (l *requestLog) lines(id string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, raw := range bytes.Split(l.buf.Bytes(), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil && m["msg"] == "request" && m["request_id"] == id {
			out = append(out, m)
		}
	}
	return out
}

// direct reports whether resp was answered by a direct worker: its
// request id is logged once, marked direct (the server logs a direct
// request when it stores the worker's journal, within moments).
func (l *requestLog) direct(t *testing.T, resp *http.Response) bool {
	t.Helper()
	id := resp.Header.Get("x-amz-request-id")
	if id == "" {
		t.Fatal("a response without a request id")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := l.lines(id)
		if len(lines) > 1 {
			t.Fatalf("request %s logged %d times: %v", id, len(lines), lines)
		}
		if len(lines) == 1 {
			return lines[0]["direct"] == true
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s was never logged", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reused sends req on e's client and reports whether it went on a
// connection used before.
func (e *env) reused(req *http.Request) (*http.Response, []byte, bool) {
	e.t.Helper()
	var again bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { again = info.Reused },
	}))
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b, again
}

// A direct worker gives a request for anything but its service back to
// the server, bodies and all, on the same connection: a sized body and
// a chunked one arrive whole. Each request is logged once, a direct one
// by the server from the worker's journal.
func TestDirectHandback(t *testing.T) {
	e := setupDirect(t, func(c *app.Config) { c.ServicesDirect = 4 }) // two for the account's two services
	e.create("echo", client.ServiceSpec{App: "echo", Public: public(), Timeout: "30s"})
	e.create("echo2", client.ServiceSpec{App: "echo", Public: public(), Timeout: "30s"})
	vreq := func(name, method string, body io.Reader) *http.Request {
		req, _ := http.NewRequest(method, e.node.Endpoint()+"/", body)
		req.Host = name + ".svc.localhost"
		return req
	}
	resp, _, _ := e.reused(vreq("echo", http.MethodGet, nil))
	if resp.StatusCode != 200 || !e.logs.direct(t, resp) {
		t.Fatalf("first request: %d, want 200 and answered direct", resp.StatusCode)
	}
	// A sized body for another service, on the connection echo's worker
	// holds: back to the server, which serves it itself (it has a body).
	body := make([]byte, 3<<20)
	rand.Read(body)
	resp, got, again := e.reused(vreq("echo2", http.MethodPut, bytes.NewReader(body)))
	if !again || resp.StatusCode != 200 || !bytes.Equal(echoed(got), body) || e.logs.direct(t, resp) {
		t.Fatalf("sized body handed back: reused %v, %d, %d bytes, want the server's echo", again, resp.StatusCode, len(got))
	}
	// echo2's worker takes the connection; a chunked body for echo goes
	// back to the server.
	if resp, _, again := e.reused(vreq("echo2", http.MethodGet, nil)); !again || resp.StatusCode != 200 || !e.logs.direct(t, resp) {
		t.Fatalf("echo2 by its host: reused %v, %d, want direct", again, resp.StatusCode)
	}
	chunked := vreq("echo", http.MethodPost, io.MultiReader(bytes.NewReader(body[:1<<20]), strings.NewReader("end")))
	resp, got, again = e.reused(chunked)
	want := append(bytes.Clone(body[:1<<20]), "end"...)
	if !again || resp.StatusCode != 200 || !bytes.Equal(echoed(got), want) || e.logs.direct(t, resp) {
		t.Fatalf("chunked body handed back: reused %v, %d, %d bytes, want %d echoed by the server", again, resp.StatusCode, len(got), len(want))
	}
	// Back on echo's worker: the service by its path is served there too,
	// and the node's own paths come back to the server.
	if resp, _, again := e.reused(vreq("echo", http.MethodGet, nil)); !again || resp.StatusCode != 200 || !e.logs.direct(t, resp) {
		t.Fatalf("echo by its host again: reused %v, %d, want direct", again, resp.StatusCode)
	}
	resp, got, again = e.reused(withPath(e, "/svc/echo/x"))
	if !again || resp.StatusCode != 200 || !e.logs.direct(t, resp) {
		t.Fatalf("path-routed on echo's connection: reused %v, %d %q, want direct", again, resp.StatusCode, got)
	}
	if resp, got, again := e.reused(withPath(e, "/healthz")); !again || resp.StatusCode != 200 || string(got) != "ok\n" {
		t.Fatalf("/healthz after a direct request: reused %v, %d %q", again, resp.StatusCode, got)
	}
	// A path-routed connection (the node's own, shared with S3) stays
	// on the server.
	if resp, _, _ := e.reused(withPath(e, "/svc/echo/y")); resp.StatusCode != 200 || e.logs.direct(t, resp) {
		t.Fatalf("path-routed on the server's connection: %d, want the server's answer", resp.StatusCode)
	}
}

// echoed is the body the echo app sent back (after its environment).
func echoed(got []byte) []byte {
	_, b, _ := bytes.Cut(got, []byte("\n\n"))
	return b
}

func withPath(e *env, path string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, e.node.Endpoint()+path, nil)
	return req
}

// directWorkers reads the node's gauge of direct workers.
func (e *env) directWorkers() string {
	resp, body := e.get("/metrics")
	if resp.StatusCode != 200 {
		e.t.Fatalf("metrics: %d", resp.StatusCode)
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "insitu_service_direct_workers "); ok {
			return v
		}
	}
	e.t.Fatal("no insitu_service_direct_workers in the metrics")
	return ""
}

// An account holds at most half the node's direct workers: a second
// service of the same account stays on the server's path while the
// first holds a connection. Once that connection is gone, its worker
// stops after the idle time, and the second service goes direct.
func TestDirectIdleAndShares(t *testing.T) {
	e := setupDirect(t, func(c *app.Config) { c.ServicesDirect, c.ServicesDirectIdle = 2, 700*time.Millisecond })
	e.create("one", client.ServiceSpec{App: "hello", Public: public()})
	e.create("two", client.ServiceSpec{App: "hello", Public: public()})
	first := &http.Client{Transport: &http.Transport{}}
	req, _ := http.NewRequest(http.MethodGet, e.node.Endpoint()+"/", nil)
	req.Host = "one.svc.localhost"
	resp, err := first.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !e.logs.direct(t, resp) {
		t.Fatal("one: not answered direct")
	}
	if resp, _ := e.vget("two", ""); resp.StatusCode != 200 || e.logs.direct(t, resp) {
		t.Fatalf("two: %d, want 200 from the server (the account holds its share)", resp.StatusCode)
	}
	if n := e.directWorkers(); n != "1" {
		t.Fatalf("%s direct workers, want 1", n)
	}
	first.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for e.directWorkers() != "0" {
		if time.Now().After(deadline) {
			t.Fatalf("the idle worker still runs: %s", e.directWorkers())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp, _ := e.vget("two", ""); resp.StatusCode != 200 || !e.logs.direct(t, resp) {
		t.Fatalf("two after one's worker stopped: %d, want direct", resp.StatusCode)
	}
}

// A client that trickles a large (streamed) body, and reads nothing,
// fails its own request only: its connection gives up before the
// deadline, so the worker is not killed under its other connections.
func TestDirectTrickledLargeBody(t *testing.T) {
	e := setupDirect(t, func(c *app.Config) { c.ServicesDirect = 1 })
	e.create("echo", client.ServiceSpec{App: "echo", Public: public(), Timeout: "2s"})
	addr := strings.TrimPrefix(e.node.Endpoint(), "http://")
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	get := func(c net.Conn, br *bufio.Reader, what string) {
		t.Helper()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: echo.svc.localhost\r\n\r\n"); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", what, resp.StatusCode)
		}
	}
	other, obr := dial()
	get(other, obr, "the other connection's first request")
	slow, sbr := dial()
	get(slow, sbr, "the slow connection's first request") // now on the one worker
	io.WriteString(slow, "PUT / HTTP/1.1\r\nHost: echo.svc.localhost\r\nContent-Length: 8388608\r\n\r\n")
	slow.Write(make([]byte, 2<<20))
	time.Sleep(3 * time.Second) // past the service's timeout
	get(other, obr, "the other connection after the slow one's deadline")
	if n := e.directWorkers(); n != "1" {
		t.Fatalf("%s direct workers, want the one", n)
	}
}
