package services

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// DirectHandler is the handler of a direct worker (sandbox.WorkerMainWith):
// it runs in the worker process and serves the requests of the
// connections handed to it the way Handler does, over the module the
// worker is bound to, with one record journaled per request before the
// answer ends. A request for anything else goes back to the server
// (DirectRunner.Handback). files[0] is the journal.
func DirectHandler(binding []byte, files []*os.File, run sandbox.DirectRunner) (http.Handler, error) {
	var b directBinding
	if err := json.Unmarshal(binding, &b); err != nil {
		return nil, fmt.Errorf("services: direct binding: %w", err)
	}
	if len(files) != 1 {
		return nil, errors.New("services: a direct worker needs its journal")
	}
	return &directHandler{b: b, journal: files[0], run: run, match: &Handler{domain: strings.ToLower(b.Domain)}}, nil
}

// directHandler serves one service's requests in a direct worker. Its
// handlers run on several goroutines at once (one per connection); the
// journal, their only shared state besides the runner, takes whole
// entries (one write each).
type directHandler struct {
	b       directBinding
	journal *os.File
	run     sandbox.DirectRunner
	match   *Handler // for Match
}

func (h *directHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if !h.serves(r) {
		if err := h.run.Handback(w, requestHead(r)); err == nil {
			return // the server answers it, and logs it
		}
		w.Header().Set("Connection", "close")
		plain(w, http.StatusMisdirectedRequest, "this connection serves "+h.b.Service+" only; send this request on a new connection")
		return
	}
	id := newRequestID()
	hdr := w.Header()
	hdr["X-Amz-Request-Id"], hdr["X-Amz-Id-2"] = []string{id}, []string{id} // canonical keys: no allocation to find them
	cw := &countingWriter{ResponseWriter: w, code: http.StatusOK}
	var res sandbox.DirectResult
	// The stat goes after the answer, in a second write: only the
	// record had to be durable before it. An answer cut short
	// (http.ErrAbortHandler) is counted too, then cut.
	defer func() {
		p := recover()
		line := directLine{Service: h.b.Service, Code: cw.code, Latency: time.Since(start), Run: res.Wall,
			ID: id, Method: r.Method, Path: r.URL.Path, In: res.StdinBytes, Out: cw.n, Aborted: p != nil}
		if p != nil && !cw.wrote {
			line.Code = http.StatusInternalServerError
		}
		h.journal.Write(meta.JournalEntry([]meta.Pair{directStat(line)}))
		if p != nil {
			panic(p)
		}
	}()
	cw.code = h.serve(cw, r, &res)
}

// serves reports whether r is a request for the worker's service, routed
// as the server routes it: by its own host, or by path when the host is
// not a virtual-hosted bucket's (where "svc/..." is an object key).
func (h *directHandler) serves(r *http.Request) bool {
	name, script, _, ok := h.match.Match(r)
	if !ok || name != h.b.Service {
		return false
	}
	return script == "" || !virtualHosted(r.Host, h.match.domain)
}

// virtualHosted reports whether host names a bucket under domain
// (s3api's virtual-hosted style).
func virtualHosted(host, domain string) bool {
	host = strings.ToLower(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	b, ok := strings.CutSuffix(host, "."+domain)
	return domain != "" && ok && b != ""
}

// serve answers one request and returns its status; res is how the run
// went, set as soon as it ended (left zero when none ran).
func (h *directHandler) serve(w http.ResponseWriter, r *http.Request, res *sandbox.DirectResult) int {
	ctx := r.Context()
	_, script, pathInfo, _ := h.match.Match(r)
	if r.ContentLength > MaxRequestBody {
		return plain(w, http.StatusRequestEntityTooLarge, "request body over the service's quota")
	}
	env, err := runs.MergeEnv(h.b.ManifestEnv, cgiEnv(r, script, pathInfo, h.b.Env))
	if err != nil {
		return plain(w, http.StatusBadRequest, err.Error())
	}
	// A small body is read before the run, within the service's timeout,
	// so a trickling client never holds the run (nor has the worker
	// killed under its neighbours); a larger one streams, as on the
	// server's path.
	body, err := preread(w, r, r.Body, h.b.Timeout)
	if errors.Is(err, errBodyTimeout) {
		w.Header().Set("Connection", "close")
		return plain(w, http.StatusRequestTimeout, "the request body did not arrive in time")
	}
	if err != nil {
		return plain(w, http.StatusBadRequest, "reading the request body failed")
	}
	// Bodies stream both ways, as on the server's path. From the run's
	// start the socket gives up before the kernel's deadline would, so a
	// client that trickles a large body, or does not read its answer,
	// fails its own request only (the run sees its stdin or stdout fail
	// and ends). A body read ahead needs no socket read, and the read
	// deadline would stop net/http's watch for a client that left.
	rc := http.NewResponseController(w)
	_ = rc.EnableFullDuplex()
	_, whole := body.(*bytes.Reader) // preread's, all of it
	streamed := r.ContentLength != 0 && !whole
	started := func(deadline time.Time) {
		stop := deadline.Add(-ioMargin(h.b.Timeout))
		if streamed {
			_ = rc.SetReadDeadline(stop)
		}
		_ = rc.SetWriteDeadline(stop)
	}
	resp := &cgiResponse{w: w, script: script}
	in := &limitedBody{r: body, left: MaxRequestBody}
	*res = h.run.Run(ctx, env, in, resp, started)
	if streamed {
		_ = rc.SetReadDeadline(time.Time{})
	}
	_ = rc.SetWriteDeadline(time.Now().Add(h.b.Timeout)) // the rest of the answer
	rec, pair, err := runs.DirectRecord(h.b.Record, *res)
	if err == nil {
		_, err = h.journal.Write(meta.JournalEntry([]meta.Pair{pair}))
	}
	if err != nil {
		if resp.started {
			panic(http.ErrAbortHandler)
		}
		return plain(w, http.StatusInternalServerError, "the request's record could not be written")
	}
	return answer(ctx, w, &rec, in, resp)
}

// ioMargin is how long before a direct run's deadline its connection's
// reads and writes give up: a tenth of the timeout, at most 250 ms.
func ioMargin(timeout time.Duration) time.Duration {
	return min(timeout/10, 250*time.Millisecond)
}

// newRequestID is a request id as the server's (16 hex digits), drawn
// from the worker's own generator (seeded by the runtime from the
// system's randomness), not a system call per request.
func newRequestID() string {
	var b [8]byte
	v := rand.Uint64()
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}

// countingWriter keeps a direct answer's status and counts its body
// bytes.
type countingWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
	n     int64
}

func (c *countingWriter) WriteHeader(code int) {
	if !c.wrote {
		c.code, c.wrote = code, true
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.wrote = true
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
