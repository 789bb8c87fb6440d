package services_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/client"
)

// rawService creates the public service "raw" on testdata/rawcat.wasm, a
// guest that answers its request body verbatim: a test writes the guest's
// whole CGI response.
func rawService(t *testing.T) *env {
	e := setup(t)
	if _, err := e.api.PushApp(context.Background(), "rawcat", "1", readWasm(t, "testdata/rawcat.wasm"), nil, false); err != nil {
		t.Fatal(err)
	}
	e.create("raw", client.ServiceSpec{App: "rawcat", Public: public(), Timeout: "30s"})
	return e
}

// answer makes the raw guest write out as its CGI response.
func (e *env) answer(out string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.node.Endpoint()+"/svc/raw/x", strings.NewReader(out))
	return e.do(req)
}

// TestGuestStatus101: an informational status from a guest is a 502, and
// the connection stays a clean HTTP/1.1 connection (the next request on it
// is served).
func TestGuestStatus101(t *testing.T) {
	e := rawService(t)
	for _, out := range []string{
		"Status: 101 Switching Protocols\r\nContent-Type: text/plain\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
		"Status: 100 Continue\r\nContent-Type: text/plain\r\n\r\nmore",
		"Status: 103\nContent-Type: text/plain\n\n",
	} {
		if resp, body := e.answer(out); resp.StatusCode != http.StatusBadGateway {
			t.Errorf("%q: %d %q, want 502", out, resp.StatusCode, body)
		}
		if resp, body := e.answer("Content-Type: text/plain\n\nafter"); resp.StatusCode != 200 || body != "after" {
			t.Fatalf("the request after %q: %d %q", out, resp.StatusCode, body)
		}
	}
}

// TestGuestNodeHeadersFiltered: Server, Date and x-amz-* speak for the node,
// and cookies must stay within the service (no Domain, Path under
// /svc/raw).
func TestGuestNodeHeadersFiltered(t *testing.T) {
	e := rawService(t)
	resp, body := e.answer("Content-Type: text/plain\r\nServer: evil/1.0\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n" +
		"X-Amz-Request-Id: forged\r\nx-amz-meta-owner: forged\r\nX-Amz-Id-2: forged\r\nX-Guest: kept\r\n" +
		"Set-Cookie: wide=1; Domain=localhost\r\nSet-Cookie: root=1; Path=/\r\nSet-Cookie: sibling=1; Path=/svc/rawx\r\n" +
		"Set-Cookie: up=1; Path=/svc/raw/../other\r\nSet-Cookie: own=1; Path=/svc/raw\r\nSet-Cookie: deep=1; Path=/svc/raw/a; HttpOnly\r\n" +
		"Set-Cookie: plain=1\r\n\r\nok")
	if resp.StatusCode != 200 || body != "ok" || resp.Header.Get("X-Guest") != "kept" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	if s := resp.Header.Get("Server"); s != "" {
		t.Errorf("Server: %q", s)
	}
	if d := resp.Header.Values("Date"); len(d) != 1 || strings.Contains(d[0], "1970") {
		t.Errorf("Date: %q", d)
	}
	for _, h := range []string{"X-Amz-Request-Id", "X-Amz-Id-2"} {
		if v := resp.Header.Values(h); len(v) != 1 || v[0] == "forged" {
			t.Errorf("%s: %q", h, v)
		}
	}
	if v := resp.Header.Get("X-Amz-Meta-Owner"); v != "" {
		t.Errorf("X-Amz-Meta-Owner: %q", v)
	}
	want := []string{"own=1; Path=/svc/raw", "deep=1; Path=/svc/raw/a; HttpOnly", "plain=1"}
	if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, want) {
		t.Errorf("cookies %q, want %q", got, want)
	}
}

// TestGuestHeaderLimit: the 64 KiB header limit holds however the guest
// writes the block; line endings may be CRLF, bare LF or a mix.
// Every body stays within services.BufferedBody, so it is read whole before
// the guest answers early.
func TestGuestHeaderLimit(t *testing.T) {
	e := rawService(t)
	const limit = 64 << 10
	ct := "Content-Type: text/plain\n"
	cases := []struct {
		name, out string
		code      int
		body      string
	}{
		{"one huge line", ct + "X-Big: " + strings.Repeat("v", limit) + "\r\n\r\nbody", 502, ""},
		{"many small lines", ct + strings.Repeat("X-A: b\r\n", limit/8+1) + "\r\nbody", 502, ""},
		{"no end", strings.Repeat("X-A: b\n", 100<<10), 502, ""},
		{"no end, one line", strings.Repeat("x", 512<<10), 502, ""},
		{"just under", ct + "X-Big: " + strings.Repeat("v", limit-len(ct)-len("X-Big: \n\n")) + "\n\nbody", 200, "body"},
		{"lf then crlf", ct + "X-A: b\n\r\nbody\n\nstill body", 200, "body\n\nstill body"},
		{"crlf then lf", "Content-Type: text/plain\r\n\nbody", 200, "body"},
	}
	for _, c := range cases {
		resp, body := e.answer(c.out)
		if resp.StatusCode != c.code || (c.code == 200 && body != c.body) {
			t.Errorf("%s: %d %.80q, want %d %q", c.name, resp.StatusCode, body, c.code, c.body)
		}
	}
}
