package ui

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"time"
)

// Live views as server-sent events: a stream sends an HTML fragment as
// one "message" event every Options.LiveEvery (default streamEvery), or,
// for a job, the whole fragment once and then a "patch" event with only
// the parts that changed (jobparts.go); and an "end" event when there is
// nothing more to show (the job ended, or the session did). A stream
// lasts at most streamFor; the browser's EventSource then reconnects
// (after streamRetry), which re-checks everything. The scripts fall back
// to polling the fragment when EventSource fails.
const (
	streamEvery = time.Second
	streamFor   = 5 * time.Minute
	streamRetry = time.Second
)

// frame is what a stream sends next: event "" (a message: the whole
// fragment) or "patch" (changed parts; none: nothing is sent) with its
// data; done ends the stream after it.
type frame struct {
	event, data string
	done        bool
}

// frameFunc renders the stream's next frame. It is called with the
// caller's session checked, from the stream's goroutine only.
type frameFunc func(ctx context.Context) (frame, error)

// stream serves a text/event-stream of frames. It runs in the request's
// own goroutine, so net/http owns it; it returns when the client goes,
// the session ends (signed out, expired, key rotated or removed), the
// frames end, streamFor passes, or the handler is closed (Close, or the
// serving http.Server's Shutdown). The first frame's error (no such job,
// another account's service) is shown as any page error.
func (h *Handler) stream(c *call, next frameFunc) error {
	f, err := next(c.ctx)
	if err != nil {
		return err
	}
	h.closeOnShutdown(c.r)
	hd := c.w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(c.w)
	send := func(event, data string) bool {
		return writeEvent(c.w, event, data) == nil && rc.Flush() == nil
	}
	// more sends a frame, and "end" after the last; false ends the stream.
	more := func(f frame) bool {
		if (f.event == "" || f.data != "") && !send(f.event, f.data) {
			return false
		}
		if f.done {
			send("end", "done")
		}
		return !f.done
	}
	if !more(f) {
		return nil
	}
	tick := time.NewTicker(h.cfg.LiveEvery)
	defer tick.Stop()
	stop := time.NewTimer(streamFor)
	defer stop.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return nil
		case <-h.closed:
			return nil
		case <-stop.C:
			return nil
		case <-tick.C:
		}
		if _, err := h.session(c.r); err != nil {
			send("end", "signed out")
			return nil
		}
		f, err := next(c.ctx)
		if err != nil {
			h.log.Debug("ui: stream ended", "path", c.r.URL.Path, "err", err)
			send("end", "error")
			return nil
		}
		if !more(f) {
			return nil
		}
	}
}

// writeEvent writes one event: its name unless "" (a message), the retry
// delay, and each line of data.
func writeEvent(w http.ResponseWriter, event, data string) error {
	var b bytes.Buffer
	if event != "" {
		b.WriteString("event: " + event + "\n")
	}
	b.WriteString("retry: " + itoa(int(streamRetry/time.Millisecond)) + "\n")
	for line := range strings.SplitSeq(strings.ReplaceAll(data, "\r", ""), "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	_, err := w.Write(b.Bytes())
	return err
}

// Close ends the live streams being served and refuses none after: a
// stream started later ends at its first tick. Safe to call more than once.
func (h *Handler) Close() error {
	h.closeOnce.Do(func() { close(h.closed) })
	return nil
}

// closeOnShutdown makes the http.Server serving r call Close when it
// shuts down, so Shutdown does not wait for streams to time out. It
// registers once per handler (a dashboard is served by one server).
func (h *Handler) closeOnShutdown(r *http.Request) {
	srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server)
	if !ok {
		return
	}
	h.shutdownOnce.Do(func() { srv.RegisterOnShutdown(func() { _ = h.Close() }) })
}

// renderFrame renders template name of page's set alone, as stream data.
func (h *Handler) renderFrame(page, name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := h.pages.byName[page].ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// jobEvents streams a job's progress until the job ends: the whole
// fragment first (and whenever its set of parts changes), then only the
// parts that changed (jobparts.go).
func (h *Handler) jobEvents(c *call) error {
	id := c.r.PathValue("id")
	var sent partsSent // this stream's own
	return h.stream(c, func(ctx context.Context) (frame, error) {
		st, err := h.loadJobState(ctx, c.s.accountID, id)
		if err != nil {
			return frame{}, err
		}
		f, err := h.jobFrame(&sent, st)
		f.done = st.Job.State.Done()
		return f, err
	})
}

// serviceEvents streams a service's live stats.
func (h *Handler) serviceEvents(c *call) error {
	name := c.r.PathValue("name")
	return h.stream(c, func(ctx context.Context) (frame, error) {
		s, err := h.ownService(ctx, c.s.accountID, name)
		if err != nil {
			return frame{}, err
		}
		st, err := h.cfg.Services.Stats(ctx, c.s.accountID, s.Name)
		if err != nil {
			return frame{}, serviceError(err)
		}
		html, err := h.renderFrame("service", "live", liveOf(st))
		return frame{data: html}, err
	})
}
