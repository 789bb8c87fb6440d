package services

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
)

// seed is a named regression of the CGI response parser.
type seed struct {
	name string
	out  string
	cut  int
}

// fuzzSeeds returns the named regressions for a header limit: the
// regression test uses the real one, FuzzCGIResponse a small one so the
// fuzzer reaches the boundary quickly.
func fuzzSeeds(limit int) []seed {
	return []seed{
		{"crlf", "Content-Type: text/plain\r\n\r\nhello\n", 5},
		{"bare-lf-status", "Status: 404 Not Found\nContent-Type: text/plain\n\nmissing", 3},
		{"location-only", "Location: /x\r\n\r\n", 0},
		{"bad-status", "Status: abc\r\nContent-Type: a/b\r\n\r\n", 10},
		{"no-header", "no header at all", 2},
		{"status-101", "Status: 101 Switching Protocols\r\nContent-Type: a/b\r\nUpgrade: x\r\n\r\nGET / HTTP/1.1\r\n\r\n", 20},
		{"status-100", "Status: 100\nContent-Type: a/b\n\n", 0},
		{"status-1000", "Status: 1000\nContent-Type: a/b\n\n", 7},
		{"lf-then-crlf-blank", "Content-Type: a/b\n\r\nbody\n\nmore", 9},
		{"crlf-then-lf-blank", "Content-Type: a/b\r\n\nbody", 18},
		{"cr-split-from-lf", "Content-Type: a/b\r\n\r\nbody", 20},
		{"huge-line", "Content-Type: a/b\r\nX-Big: " + strings.Repeat("v", limit) + "\r\n\r\nbody", 0},
		{"huge-line-split", "Content-Type: a/b\r\nX-Big: " + strings.Repeat("v", limit) + "\r\n\r\nbody", limit / 2},
		{"many-small-lines", "Content-Type: a/b\n" + strings.Repeat("X-A: b\n", limit/7+1) + "\nbody", 1000},
		{"no-end", strings.Repeat("X-A: b\r\n", limit/8+100), 3},
		{"block-at-limit", "Content-Type: a/b\n" + strings.Repeat("X", limit-len("Content-Type: a/b\n")-len(": v\n\n")) + ": v\n\nbody", 0},
		{"node-headers", "Content-Type: a/b\r\nServer: evil\r\nDate: yesterday\r\nX-Amz-Request-Id: forged\r\nx-amz-meta-a: b\r\n\r\n", 0},
		{"cookies", "Content-Type: a/b\r\nSet-Cookie: a=1; Domain=localhost\r\nSet-Cookie: b=2; Path=/\r\nSet-Cookie: c=3; Path=/svc/t/x\r\nSet-Cookie: d=4\r\nSet-Cookie: e=5; path=/svc/tother\r\n\r\n", 0},
		{"malformed-line", "Content-Type: a/b\r\nnot a header line\r\n\r\nbody", 0},
	}
}

// fuzzLimit is the header limit under fuzzing.
const fuzzLimit = 256

// FuzzCGIResponse feeds hostile guest output to the CGI response parser,
// split at an arbitrary point: it never panics, and a response it accepts
// has a final status, a header block within its limit, none of the
// headers that speak for the node, only cookies scoped to the service, and
// exactly the bytes after the header block as body.
func FuzzCGIResponse(f *testing.F) {
	for _, s := range fuzzSeeds(fuzzLimit) {
		f.Add([]byte(s.out), s.cut)
	}
	f.Fuzz(func(t *testing.T, out []byte, cut int) {
		rec := httptest.NewRecorder()
		c := &cgiResponse{w: rec, script: "/svc/t", limit: fuzzLimit}
		if cut < 0 {
			cut = -cut
		}
		cut %= len(out) + 1
		_, err1 := c.Write(out[:cut])
		if err1 == nil {
			c.Write(out[cut:])
		}
		if !c.started {
			if rec.Body.Len() != 0 {
				t.Fatalf("body written before the header: %q", rec.Body.Bytes())
			}
			return
		}
		checkAccepted(t, out, c, rec)
	})
}

func checkAccepted(t *testing.T, out []byte, c *cgiResponse, rec *httptest.ResponseRecorder) {
	t.Helper()
	if c.code < 200 || c.code > 599 || rec.Code != c.code {
		t.Fatalf("status %d / %d", c.code, rec.Code)
	}
	end, _ := headerEnd(out, 0)
	if end < 0 || end > fuzzLimit {
		t.Fatalf("accepted a header block ending at %d", end)
	}
	if !bytes.Equal(rec.Body.Bytes(), out[end:]) {
		t.Fatalf("body %q, want %q", rec.Body.Bytes(), out[end:])
	}
	for k, vs := range rec.Header() {
		if dropHeader(k) {
			t.Fatalf("header %s reached the client", k)
		}
		for _, v := range vs {
			if strings.EqualFold(k, "Set-Cookie") && !cookieInScope(v, "/svc/t") {
				t.Fatalf("cookie %q reached the client", v)
			}
		}
	}
}
