package obs

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testWindow = 300 * time.Millisecond

// servers runs h over HTTP/1.1 and over TLS with HTTP/2.
func servers(t *testing.T, h http.Handler) map[string]*httptest.Server {
	t.Helper()
	h1 := httptest.NewServer(h)
	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	t.Cleanup(h1.Close)
	t.Cleanup(h2.Close)
	return map[string]*httptest.Server{"http1": h1, "http2": h2}
}

// A handler that pauses between reads (a guest computing) is not charged
// for the pause: only time spent waiting on the peer counts.
func TestBodyDeadlinesPauseNotCharged(t *testing.T) {
	h := BodyDeadlines(testWindow, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 10)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		time.Sleep(3 * testWindow)
		rest, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		time.Sleep(3 * testWindow)
		_, _ = w.Write(rest)
	}))
	for name, srv := range servers(t, h) {
		resp, err := srv.Client().Post(srv.URL, "text/plain", strings.NewReader(strings.Repeat("x", 1000)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) != 990 {
			t.Fatalf("%s: %s %q", name, resp.Status, b)
		}
		if resp.ProtoMajor != map[string]int{"http1": 1, "http2": 2}[name] {
			t.Fatalf("%s: served over %s", name, resp.Proto)
		}
	}
}

// A body that stalls fails the handler's read with ErrBodyTimeout within
// the window.
func TestBodyDeadlinesStall(t *testing.T) {
	got := make(chan error, 2)
	h := BodyDeadlines(testWindow, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, err := io.ReadAll(r.Body)
		if time.Since(start) > 3*testWindow {
			err = errors.New("cut too late")
		}
		got <- err
		w.WriteHeader(http.StatusRequestTimeout)
	}))
	for name, srv := range servers(t, h) {
		pr, pw := io.Pipe()
		go func() { _, _ = pw.Write([]byte("12345")) }() // then nothing
		req, _ := http.NewRequest(http.MethodPut, srv.URL, pr)
		req.ContentLength = 100
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if err := <-got; !errors.Is(err, ErrBodyTimeout) {
			t.Fatalf("%s: handler read ended with %v", name, err)
		}
		pw.Close()
	}
}

// Writes go through in pieces and arrive whole.
func TestBodyDeadlinesLargeWrite(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 3*BodyChunk/16+7)
	h := BodyDeadlines(testWindow, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readfrom" {
			_, _ = io.Copy(w, bytes.NewReader(body))
			return
		}
		_, _ = w.Write(body)
	}))
	for name, srv := range servers(t, h) {
		for _, p := range []string{"/write", "/readfrom"} {
			resp, err := srv.Client().Get(srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(b, body) {
				t.Fatalf("%s%s: %d bytes, want %d", name, p, len(b), len(body))
			}
		}
	}
}
