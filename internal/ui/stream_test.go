package ui_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/app"
)

// sse is an open server-sent event stream.
type sse struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

// event is one server-sent event: its name ("" for a message) and data.
type event struct{ name, data string }

// openStream GETs a live stream; it fails the test unless the answer is
// an event stream. The stream is cut after a minute (a harness bound).
func (b *browser) openStream(path string) *sse {
	b.t.Helper()
	return b.openStreamFor(path, time.Minute)
}

// openStreamFor is openStream cut after d.
func (b *browser) openStreamFor(path string, d time.Duration) *sse {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	b.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.base+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		b.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	b.t.Cleanup(func() { resp.Body.Close() })
	return &sse{t: b.t, resp: resp, r: bufio.NewReader(resp.Body)}
}

// next reads the next event; ok is false at the end of the stream.
func (s *sse) next() (ev event, ok bool) {
	var data []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return ev, false
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			ev.data = strings.Join(data, "\n")
			return ev, true
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
}

// until reads events until one satisfies ok, failing at the end of the
// stream; the harness bound is the test's.
func (s *sse) until(what string, ok func(event) bool) event {
	s.t.Helper()
	for {
		ev, more := s.next()
		if !more {
			s.t.Fatalf("the stream ended before %s", what)
		}
		if ok(ev) {
			return ev
		}
	}
}

// TestLiveStreams follows a service's stats and a job's progress as
// server-sent events, ends the streams at the job's end and at sign-out,
// and keeps them from bob and from signed-out browsers.
func TestLiveStreams(t *testing.T) {
	e := start(t, false)
	e.pushHello(t, e.as(t, e.aliceKey, e.aliceSecret))
	e.mkBucket(t, e.aliceKey, e.aliceSecret, "books")
	e.put(t, e.aliceKey, e.aliceSecret, "books", "in/a.txt", "the cat the dog\n", nil)
	b := e.login(t, e.aliceKey, e.aliceSecret)
	if resp := b.change("/ui/services", url.Values{"name": {"greet"}, "app": {"hello"}, "public": {"on"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create service: %d\n%s", resp.StatusCode, bodyOf(resp))
	}
	if _, body := b.get("/ui/services/greet"); !strings.Contains(body, `data-events="/ui/services/greet/events"`) {
		t.Errorf("the service page does not name its stream")
	}
	svc := b.openStream("/ui/services/greet/events")
	if ev, _ := svc.next(); ev.name != "" || !strings.Contains(ev.data, `id="svc-requests">0<`) {
		t.Fatalf("first event %+v, want the stats with 0 requests", ev)
	}
	for range 3 {
		if code := e.get(t, "/svc/greet/"); code != http.StatusOK {
			t.Fatalf("GET /svc/greet/: %d", code)
		}
	}
	svc.until("3 requests", func(ev event) bool { return strings.Contains(ev.data, `id="svc-requests">3<`) })

	job := b.startJob(url.Values{"map": {"wc"}, "input": {"s3://books/in/"}, "out": {"s3://books/out/"}})
	js := b.openStream("/ui/jobs/" + job + "/events")
	last := js.until("the end event", func(ev event) bool { return ev.name == "end" })
	if last.data != "done" {
		t.Errorf("the job stream ended with %q, want done", last.data)
	}
	if _, more := js.next(); more {
		t.Errorf("the job stream goes on after its end event")
	}

	bob := e.login(t, e.bobKey, e.bobSecret)
	for _, p := range []string{"/ui/services/greet/events", "/ui/jobs/" + job + "/events"} {
		if code, body := bob.get(p); code != http.StatusNotFound || strings.Contains(body, "svc-requests") || strings.Contains(body, "job-state") {
			t.Errorf("bob GET %s: %d, want 404 without alice's data", p, code)
		}
		if code, _ := e.newBrowser(t).get(p); code != http.StatusForbidden {
			t.Errorf("signed-out GET %s: %d, want 403", p, code)
		}
	}

	if resp := b.change("/ui/logout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	ev := svc.until("the end event after sign-out", func(ev event) bool { return ev.name == "end" })
	if ev.data != "signed out" {
		t.Errorf("the service stream ended with %q after sign-out", ev.data)
	}
	if _, more := svc.next(); more {
		t.Errorf("the service stream goes on after sign-out")
	}
}

// TestStreamsEndAtShutdown: an open stream does not hold the node's
// shutdown for its drain timeout (here 10 minutes).
func TestStreamsEndAtShutdown(t *testing.T) {
	e := start(t, false, func(c *app.Config) { c.ShutdownTimeout = 10 * time.Minute })
	e.pushHello(t, e.as(t, e.aliceKey, e.aliceSecret))
	b := e.login(t, e.aliceKey, e.aliceSecret)
	if resp := b.change("/ui/services", url.Values{"name": {"greet"}, "app": {"hello"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create service: %d", resp.StatusCode)
	}
	s := b.openStreamFor("/ui/services/greet/events", 10*time.Minute)
	s.next()
	stopped := make(chan struct{})
	go func() { e.node.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(2 * time.Minute):
		t.Fatal("the node did not stop in 2 minutes with a stream open")
	}
	for {
		if _, more := s.next(); !more {
			break
		}
	}
}
