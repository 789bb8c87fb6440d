package services

import (
	"net/http/httptest"
	"testing"
)

// FuzzCGIResponse feeds hostile guest output to the CGI response parser,
// split at an arbitrary point: it never panics, and a response it accepts
// has a valid status and only the bytes after the header as body.
func FuzzCGIResponse(f *testing.F) {
	f.Add([]byte("Content-Type: text/plain\r\n\r\nhello\n"), 5)
	f.Add([]byte("Status: 404 Not Found\nContent-Type: text/plain\n\nmissing"), 3)
	f.Add([]byte("Location: /x\r\n\r\n"), 0)
	f.Add([]byte("Status: abc\r\nContent-Type: a/b\r\n\r\n"), 10)
	f.Add([]byte("no header at all"), 2)
	f.Fuzz(func(t *testing.T, out []byte, cut int) {
		rec := httptest.NewRecorder()
		c := &cgiResponse{w: rec}
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
		if c.code < 100 || c.code > 999 || rec.Code != c.code {
			t.Fatalf("status %d / %d", c.code, rec.Code)
		}
	})
}
