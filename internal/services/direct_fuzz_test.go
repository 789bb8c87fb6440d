package services

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/insitu-cloud/insitu/internal/obs"
)

// FuzzRequestHead: a request handed between the server and a direct
// worker is re-serialized from what net/http parsed; read again, it must
// be the same request (method, target, host, header, framing), so the
// other side serves what the client sent.
func FuzzRequestHead(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: a.svc.localhost\r\n\r\n",
		"PUT /x?y=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-A: 1\r\nX-A: 2\r\n\r\nabc",
		"POST /p HTTP/1.1\r\nHost: h:80\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET http://h/abs HTTP/1.1\r\nHost: h\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil || !servable(r) {
			return
		}
		again, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(requestHead(r))))
		if err != nil {
			t.Fatalf("the re-serialized head of %q does not parse: %v\n%q", raw, err, requestHead(r))
		}
		if again.Method != r.Method || again.RequestURI != r.RequestURI || again.Host != r.Host ||
			again.ContentLength != r.ContentLength || !slices.Equal(again.TransferEncoding, r.TransferEncoding) ||
			again.ProtoMajor != r.ProtoMajor || again.ProtoMinor != r.ProtoMinor {
			t.Fatalf("%q came back as %s %s %s (length %d, %v), was %s %s %s (length %d, %v)", raw,
				again.Method, again.RequestURI, again.Host, again.ContentLength, again.TransferEncoding,
				r.Method, r.RequestURI, r.Host, r.ContentLength, r.TransferEncoding)
		}
		for k, v := range r.Header {
			if !slices.Equal(again.Header[k], v) {
				t.Fatalf("%q: header %s came back as %q, was %q", raw, k, again.Header[k], v)
			}
		}
	})
}

// servable reports whether net/http's server would hand r to a handler:
// it refuses invalid header names and values, and a missing Host.
func servable(r *http.Request) bool {
	for k, vv := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return httpguts.ValidHostHeader(r.Host) && r.Host != ""
}

// FuzzDirectLine: a direct worker runs guests, so the request lines it
// journals are input. Whatever they hold, only a well-formed line of the
// worker's own service is counted and logged, with a valid status and
// id and a bounded path.
func FuzzDirectLine(f *testing.F) {
	f.Add([]byte(`{"s":"hello","c":200,"l":1000,"r":500,"id":"0123456789abcdef","m":"GET","p":"/","i":0,"o":6}`))
	f.Add([]byte(`{"s":"other","c":200,"id":"0123456789abcdef"}`))
	f.Add([]byte(`{"s":"hello","c":99,"id":"x"}`))
	f.Fuzz(func(t *testing.T, v []byte) {
		var logged bytes.Buffer
		set := &directSet{cfg: DirectConfig{Metrics: obs.NewMetrics(), Logger: slog.New(slog.NewJSONHandler(&logged, nil))}}
		var seen []int
		obsFn := func(_ context.Context, name string, code int, latency, run time.Duration) {
			if name != "hello" || code < 100 || code > 999 || latency < 0 || run < 0 {
				t.Fatalf("counted %s %d %v %v from %q", name, code, latency, run, v)
			}
			seen = append(seen, code)
		}
		set.observe.Store(&obsFn)
		set.observeStat("hello", v)
		lines := strings.Count(logged.String(), `"msg":"request"`)
		if lines != len(seen) || len(seen) > 1 {
			t.Fatalf("%d lines logged, %d counted, from %q", lines, len(seen), v)
		}
		if lines == 1 && (!strings.Contains(logged.String(), `"direct":true`) || logged.Len() > 8192) {
			t.Fatalf("logged %q from %q", logged.String(), v)
		}
	})
}
