package api

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

func (h *Handler) routeRuns() {
	h.route("POST /api/v1/runs", "Run", false, h.run)
	h.route("GET /api/v1/runs", "ListRuns", false, h.listRuns)
	h.route("GET /api/v1/runs/{id}", "GetRun", false, h.getRun)
	h.route("GET /api/v1/buckets/{bucket}/open-with", "ListOpenWith", false, h.listOpenWith)
	h.route("PUT /api/v1/buckets/{bucket}/open-with", "SetOpenWith", false, h.setOpenWith)
	h.route("DELETE /api/v1/buckets/{bucket}/open-with", "RemoveOpenWith", false, h.removeOpenWith)
}

// RunSpec is the body of POST /api/v1/runs.
type RunSpec struct {
	App    string            `json:"app"`
	Args   []string          `json:"args,omitempty"`
	Env    map[string]string `json:"env,omitempty"`
	Stdin  string            `json:"stdin,omitempty"`      // s3://B/K
	Data   string            `json:"stdin_data,omitempty"` // literal stdin when Stdin is empty
	Stdout string            `json:"stdout,omitempty"`     // s3://B/K; default: returned to the caller
	Stderr string            `json:"stderr,omitempty"`
	Inputs []struct {
		Object string `json:"object"`         // s3://B/K
		Path   string `json:"path,omitempty"` // below /in
	} `json:"inputs,omitempty"`
	Out           string         `json:"out,omitempty"` // s3://B/PREFIX/
	Limits        apps.LimitSpec `json:"limits,omitzero"`
	Deterministic bool           `json:"deterministic,omitempty"`
	Seed          int64          `json:"seed,omitempty"`
	// Detach returns the record id at once and runs in the background.
	Detach bool `json:"detach,omitempty"`
}

// RunStreamType is the media type of a streamed run: frames of one type
// byte ('1' stdout, '2' stderr, 'R' the final record as JSON), a 4-byte
// big-endian length, then the payload.
const RunStreamType = "application/vnd.insitu.run-stream"

// request converts a spec into a runs.Request for account.
func (s RunSpec) request(account string) (runs.Request, error) {
	req := runs.Request{Account: account, App: s.App, Args: s.Args, Env: s.Env,
		Deterministic: s.Deterministic, Seed: s.Seed}
	ref := func(u string) (*runs.ObjectRef, error) {
		if u == "" {
			return nil, nil
		}
		r, err := runs.ParseS3URL(u)
		return &r, err
	}
	var err error
	if req.StdinObject, err = ref(s.Stdin); err != nil {
		return req, err
	}
	if req.StdoutObject, err = ref(s.Stdout); err != nil {
		return req, err
	}
	if req.StderrObject, err = ref(s.Stderr); err != nil {
		return req, err
	}
	if req.OutPrefix, err = ref(s.Out); err != nil {
		return req, err
	}
	for _, in := range s.Inputs {
		r, err := runs.ParseS3URL(in.Object)
		if err != nil {
			return req, err
		}
		req.Inputs = append(req.Inputs, runs.InputSpec{Object: r, Path: in.Path})
	}
	if req.Limits, err = s.Limits.Apply(sandbox.Limits{}); err != nil {
		return req, fmt.Errorf("%w: %v", runs.ErrBadRequest, err)
	}
	if s.Stdin == "" && s.Data != "" {
		req.Stdin = bytes.NewReader([]byte(s.Data))
	}
	return req, nil
}

// runResponse is the JSON answer of a run that was not streamed.
type runResponse struct {
	Record *runs.Record `json:"record"`
	Stdout string       `json:"stdout"`
	Stderr string       `json:"stderr"`
}

// capturedMax caps stdout/stderr returned inline in JSON.
const capturedMax = 1 << 20

func (h *Handler) run(c *call) error {
	var spec RunSpec
	if err := decode(c, &spec); err != nil {
		return err
	}
	req, err := spec.request(c.account.ID)
	if err != nil {
		return err
	}
	if spec.Detach {
		return h.runDetached(c, req)
	}
	if c.r.Header.Get("Accept") == RunStreamType {
		return h.runStreamed(c, req)
	}
	var stdout, stderr cappedBuffer
	stdout.max, stderr.max = capturedMax, capturedMax
	req.Stdout, req.Stderr = &stdout, &stderr
	rec, err := h.runs.Run(c.ctx, req)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, runResponse{Record: showRecord(h.namer(c.ctx), rec), Stdout: stdout.String(), Stderr: stderr.String()})
	return nil
}

// runDetached answers 202 with the run's id once the run is queued; the
// runs service owns it from then on (and drains it at shutdown).
func (h *Handler) runDetached(c *call, req runs.Request) error {
	id, err := h.runs.Detach(c.ctx, req)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusAccepted, map[string]any{"id": id})
	return nil
}

func (h *Handler) runStreamed(c *call, req runs.Request) error {
	fw := &frameWriter{w: c.w, rc: http.NewResponseController(c.w)}
	req.Stdout, req.Stderr = fw.stream('1'), fw.stream('2')
	c.w.Header().Set("Content-Type", RunStreamType)
	c.w.Header().Set("X-Content-Type-Options", "nosniff")
	rec, err := h.runs.Run(c.ctx, req)
	if err != nil {
		if fw.started() {
			return fw.frame('E', mustJSON(logInternal(c.ctx, err, appError(err))))
		}
		return err
	}
	return fw.frame('R', mustJSON(showRecord(h.namer(c.ctx), rec)))
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// frameWriter multiplexes stdout, stderr and the record on one response.
// Safe for concurrent use.
type frameWriter struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	rc      *http.ResponseController
	wrote   bool
	scratch [5]byte
}

func (f *frameWriter) started() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wrote
}

func (f *frameWriter) frame(typ byte, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wrote = true
	f.scratch[0] = typ
	binary.BigEndian.PutUint32(f.scratch[1:], uint32(len(p)))
	if _, err := f.w.Write(f.scratch[:]); err != nil {
		return err
	}
	if _, err := f.w.Write(p); err != nil {
		return err
	}
	return f.rc.Flush()
}

type streamFunc func([]byte) (int, error)

func (s streamFunc) Write(p []byte) (int, error) { return s(p) }

func (f *frameWriter) stream(typ byte) streamFunc {
	return func(p []byte) (int, error) {
		for off := 0; off < len(p); off += 1 << 20 {
			if err := f.frame(typ, p[off:min(len(p), off+1<<20)]); err != nil {
				return off, err
			}
		}
		return len(p), nil
	}
}

// cappedBuffer keeps the first max bytes written and counts the rest.
type cappedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (h *Handler) listRuns(c *call) error {
	limit, after, err := pageParams(c)
	if err != nil {
		return err
	}
	list, next, err := h.runs.List(c.ctx, c.account.ID, limit, after)
	if err != nil {
		return err
	}
	name := h.namer(c.ctx)
	for i := range list {
		list[i] = *showRecord(name, &list[i])
	}
	writeJSON(c.w, http.StatusOK, pageBody("runs", list, next))
	return nil
}

func (h *Handler) getRun(c *call) error {
	rec, err := h.runs.Get(c.ctx, c.account.ID, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, showRecord(h.namer(c.ctx), rec))
	return nil
}

func (h *Handler) listOpenWith(c *call) error {
	list, err := h.runs.ListOpenWith(c.ctx, c.account.ID, c.r.PathValue("bucket"))
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"open_with": list})
	return nil
}

func (h *Handler) setOpenWith(c *call) error {
	var in struct {
		ContentType string `json:"content_type"`
		App         string `json:"app"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	ow, err := h.runs.SetOpenWith(c.ctx, c.account.ID, c.r.PathValue("bucket"), in.ContentType, in.App)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, ow)
	return nil
}

func (h *Handler) removeOpenWith(c *call) error {
	if err := h.runs.RemoveOpenWith(c.ctx, c.account.ID, c.r.PathValue("bucket"), c.r.URL.Query().Get("content_type")); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
