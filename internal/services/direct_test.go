package services_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// setupDirect is setup with direct connections on (at most n workers)
// and the request log kept in e.logs.
func setupDirect(t *testing.T, configure ...func(*app.Config)) *env {
	logs := &requestLog{}
	e := setupWith(t, apptest.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Configure: func(c *app.Config) {
		c.ServicesDirect = 2
		for _, f := range configure {
			f(c)
		}
	}})
	e.logs = logs
	t.Cleanup(func() {
		if t.Failed() {
			logs.mu.Lock()
			t.Logf("the node's log:\n%s", logs.buf.Bytes())
			logs.mu.Unlock()
		}
	})
	return e
}

// vget sends GET /?q to service name by its host, on the client's
// keep-alive connection.
func (e *env) vget(name, q string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodGet, e.node.Endpoint()+"/?"+q, nil)
	req.Host = name + ".svc.localhost"
	return e.do(req)
}

// A connection to a public service goes to a direct worker: the
// isolation, failure and timeout answers are today's, every request has
// its record, and a request for anything else goes back to the server.
func TestDirectConnections(t *testing.T) {
	e := setupDirect(t)
	e.create("tool", client.ServiceSpec{App: "tool", Public: public(), Timeout: "30s"})
	// A global set by one request is unseen by the next: always 1.
	for i := 0; i < 5; i++ {
		if resp, body := e.vget("tool", "counter"); resp.StatusCode != 200 || body != "1\n" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	// The same connection, now held by the worker, serves the service by
	// its path too, and gives anything else back to the server.
	if resp, body := e.get("/svc/tool/?counter"); resp.StatusCode != 200 || body != "1\n" {
		t.Fatalf("path routing on a direct connection: %d %q", resp.StatusCode, body)
	}
	if resp, body := e.get("/healthz"); resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("the server's own path on a direct connection: %d %q", resp.StatusCode, body)
	}
	for mode, code := range map[string]int{"trap": 502, "nohdr": 502, "status": 201} {
		if resp, body := e.vget("tool", mode); resp.StatusCode != code {
			t.Errorf("%s: %d %q, want %d", mode, resp.StatusCode, body, code)
		}
	}
	// The update takes effect at once: the worker is stopped, its
	// connection closes, and the next request starts one on the new
	// definition, which the kernel stops at the deadline.
	if _, err := e.api.UpdateService(context.Background(), "tool", client.ServiceSpec{Timeout: "1s"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if resp, body := e.vget("tool", "sleep"); resp.StatusCode != 504 {
		t.Errorf("sleep: %d %q, want 504", resp.StatusCode, body)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("the 504 came after %v", el)
	}
	if resp, body := e.vget("tool", "counter"); resp.StatusCode != 200 || body != "1\n" {
		t.Fatalf("after the kill: %d %q", resp.StatusCode, body)
	}
	// Every request has its record (5 counters, the path-routed one, 3
	// failure modes, the sleeper, the last counter), the sleeper's a timeout written by the server after the
	// kernel killed its worker; stored within moments.
	const want = 11
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs, err := e.api.ListRuns(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		n, timeouts := 0, 0
		for _, r := range recs {
			if r.Kind == "service" {
				n++
				if r.Status == "timeout" {
					timeouts++
				}
			}
		}
		if n == want && timeouts == 1 {
			break
		}
		if time.Now().After(deadline) {
			for _, r := range recs {
				t.Logf("%s %s %s %d %s", r.Kind, r.App, r.Status, r.ExitCode, r.Error)
			}
			t.Fatalf("%d service records (%d timeouts), want %d (1)", n, timeouts, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// svc stats count the direct requests too (the journaled stats are
	// ingested with the records): 10 answered by workers and the 504 the
	// server wrote for the killed one; an idle direct worker is not a
	// request in flight.
	for {
		st, err := e.api.ServiceStats(context.Background(), "tool")
		if err == nil && st.Requests == 11 && st.InFlight == 0 && st.ByStatus["200"] == 7 && st.ByStatus["504"] == 1 &&
			st.ByStatus["502"] == 2 && st.ByStatus["201"] == 1 {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("stats: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A client that trickles a small body on a direct connection gets 408
// when the service's timeout passes, as on the server's path, and never
// holds the run: another connection is answered meanwhile.
func TestDirectSlowBody(t *testing.T) {
	e := setupDirect(t)
	e.create("tool", client.ServiceSpec{App: "tool", Public: public(), Timeout: "1s"})
	addr := strings.TrimPrefix(e.node.Endpoint(), "http://")
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	br := bufio.NewReader(slow)
	get := "GET /?counter HTTP/1.1\r\nHost: tool.svc.localhost\r\n\r\n"
	if _, err := io.WriteString(slow, get); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	} else {
		io.ReadAll(resp.Body)
	}
	// Now held by a direct worker: a POST whose body stops short.
	io.WriteString(slow, "POST /?counter HTTP/1.1\r\nHost: tool.svc.localhost\r\nContent-Length: 10\r\n\r\nabc")
	start := time.Now()
	for i := 0; i < 3; i++ {
		if resp, body := e.vget("tool", "counter"); resp.StatusCode != 200 || body != "1\n" {
			t.Fatalf("another connection while the body trickles: %d %q", resp.StatusCode, body)
		}
	}
	if el := time.Since(start); el > 900*time.Millisecond {
		t.Errorf("the other connection waited %v", el)
	}
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("trickled body: %v %v, want 408", resp, err)
	}
}

// A large body streams through a direct worker both ways, as through the
// server: the echo service answers a 24 MiB upload with it, whole.
func TestDirectStreamingLargeBody(t *testing.T) {
	e := setupDirect(t)
	e.create("echo", client.ServiceSpec{App: "echo", Public: public(), Timeout: "60s"})
	// The connection goes direct on its first request (no body).
	if resp, _ := e.vget("echo", "x"); resp.StatusCode != 200 {
		t.Fatalf("first request: %d", resp.StatusCode)
	}
	body := make([]byte, 24<<20)
	rand.Read(body)
	req, _ := http.NewRequest(http.MethodPut, e.node.Endpoint()+"/upload", bytes.NewReader(body))
	req.Host = "echo.svc.localhost"
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	checkEchoed(t, resp, body)
	// The upload was served by the worker.
	if !e.logs.direct(t, resp) {
		t.Fatal("the upload was not answered by a direct worker")
	}
}
