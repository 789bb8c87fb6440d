package services

import (
	"net/http/httptest"
	"slices"
	"testing"
)

// TestCGIResponseRegressions pins the outcome of each named seed, written
// in one piece, at the seed's cut, and one byte at a time: the split never
// changes the answer. Code 0 means refused (the handler answers 502).
func TestCGIResponseRegressions(t *testing.T) {
	want := map[string]struct {
		code    int
		body    string
		cookies []string
		absent  []string
	}{
		"crlf":               {code: 200, body: "hello\n"},
		"bare-lf-status":     {code: 404, body: "missing"},
		"location-only":      {code: 302},
		"bad-status":         {},
		"no-header":          {},
		"status-101":         {},
		"status-100":         {},
		"status-1000":        {},
		"lf-then-crlf-blank": {code: 200, body: "body\n\nmore"},
		"crlf-then-lf-blank": {code: 200, body: "body"},
		"cr-split-from-lf":   {code: 200, body: "body"},
		"huge-line":          {},
		"huge-line-split":    {},
		"many-small-lines":   {},
		"no-end":             {},
		"block-at-limit":     {code: 200, body: "body"},
		"node-headers":       {code: 200, absent: []string{"Server", "Date", "X-Amz-Request-Id", "X-Amz-Meta-A"}},
		"cookies":            {code: 200, cookies: []string{"c=3; Path=/svc/t/x", "d=4"}},
		"malformed-line":     {},
	}
	for _, s := range fuzzSeeds(maxHeaderBytes) {
		w, ok := want[s.name]
		if !ok {
			t.Fatalf("seed %s has no expectation", s.name)
		}
		for _, split := range []string{"whole", "cut", "bytes"} {
			rec := httptest.NewRecorder()
			c := &cgiResponse{w: rec, script: "/svc/t"}
			writeSplit(c, []byte(s.out), split, s.cut)
			code := 0
			if c.started {
				code = rec.Code
			}
			if code != w.code || (code != 0 && rec.Body.String() != w.body) {
				t.Errorf("%s/%s: code %d body %q, want %d %q", s.name, split, code, rec.Body.String(), w.code, w.body)
				continue
			}
			if code == 0 && rec.Body.Len() != 0 {
				t.Errorf("%s/%s: refused but wrote %q", s.name, split, rec.Body.String())
			}
			for _, h := range w.absent {
				if v, ok := rec.Header()[h]; ok {
					t.Errorf("%s/%s: header %s: %q reached the client", s.name, split, h, v)
				}
			}
			if got := rec.Header()["Set-Cookie"]; w.cookies != nil && !slices.Equal(got, w.cookies) {
				t.Errorf("%s/%s: cookies %q, want %q", s.name, split, got, w.cookies)
			}
		}
	}
}

// writeSplit writes out to c whole, in two pieces at cut, or a byte at a
// time, stopping at the first error as the sandbox's pump does.
func writeSplit(c *cgiResponse, out []byte, how string, cut int) {
	var pieces [][]byte
	switch how {
	case "whole":
		pieces = [][]byte{out}
	case "cut":
		pieces = [][]byte{out[:cut], out[cut:]}
	default:
		for i := range out {
			pieces = append(pieces, out[i:i+1])
		}
	}
	for _, p := range pieces {
		if _, err := c.Write(p); err != nil {
			return
		}
	}
}
