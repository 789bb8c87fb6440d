package services

import (
	"encoding/json"
	"errors"
	"fmt"
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
// answer ends. files[0] is the journal.
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

type directHandler struct {
	b       directBinding
	journal *os.File
	run     sandbox.DirectRunner
	match   *Handler // for Match
}

func (h *directHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code, run := h.serve(w, r)
	// The stat goes after the answer, in a second write: only the
	// record had to be durable before it.
	h.journal.Write(meta.JournalEntry([]meta.Pair{directStat(h.b.Service, code, time.Since(start), run)}))
}

// serve answers one request; it returns the status and the instance's
// run time.
func (h *directHandler) serve(w http.ResponseWriter, r *http.Request) (int, time.Duration) {
	ctx := r.Context()
	name, script, pathInfo, ok := h.match.Match(r)
	if !ok || name != h.b.Service || script != "" {
		w.Header().Set("Connection", "close")
		return plain(w, http.StatusMisdirectedRequest, "this connection serves "+h.b.Service+".svc only; send this request on a new connection"), 0
	}
	if r.ContentLength > MaxRequestBody {
		return plain(w, http.StatusRequestEntityTooLarge, "request body over the service's quota"), 0
	}
	env, err := runs.MergeEnv(h.b.ManifestEnv, cgiEnv(r, script, pathInfo, h.b.Env))
	if err != nil {
		return plain(w, http.StatusBadRequest, err.Error()), 0
	}
	// A small body is read before the run, within the service's timeout,
	// so a trickling client never holds the run (nor has the worker
	// killed under its neighbours); a larger one streams, as on the
	// server's path.
	body, err := preread(w, r, r.Body, h.b.Timeout)
	if errors.Is(err, errBodyTimeout) {
		w.Header().Set("Connection", "close")
		return plain(w, http.StatusRequestTimeout, "the request body did not arrive in time"), 0
	}
	if err != nil {
		return plain(w, http.StatusBadRequest, "reading the request body failed"), 0
	}
	// Bodies stream both ways, as on the server's path.
	_ = http.NewResponseController(w).EnableFullDuplex()
	resp := &cgiResponse{w: w, script: script}
	in := &limitedBody{r: body, left: MaxRequestBody}
	res := h.run.Run(ctx, env, in, resp)
	rec, pair, err := runs.DirectRecord(h.b.Record, res)
	if err == nil {
		_, err = h.journal.Write(meta.JournalEntry([]meta.Pair{pair}))
	}
	if err != nil {
		if resp.started {
			panic(http.ErrAbortHandler)
		}
		return plain(w, http.StatusInternalServerError, "the request's record could not be written"), res.Wall
	}
	return answer(ctx, w, &rec, in, resp), res.Wall
}
