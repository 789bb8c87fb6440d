package runs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/store"
)

// The wire of RemotePath. The request body is a 4-byte big-endian length,
// the JSON of wireRequest, then the run's stdin (when it has one); the
// JSON's SHA-256 travels in the signed X-Insitu-Run-Sha256 header, so the
// signature covers what runs and as whom. The answer is frames of one type
// byte ('1' stdout, '2' stderr, 'R' the record, 'E' a refusal as
// wireError), a 4-byte big-endian length and the payload.
const (
	hdrRunSum     = "X-Insitu-Run-Sha256"
	maxWireHeader = 4 << 20
	maxFrame      = 4 << 20
	// nodeCheckEvery is how often a caller checks that the node running
	// its request is still up in the live view.
	nodeCheckEvery = 500 * time.Millisecond
)

// wireRequest is a Request without its in-process streams.
type wireRequest struct {
	ID            string            `json:"id"`
	Account       string            `json:"account"`
	Kind          string            `json:"kind"`
	App           string            `json:"app"`
	Args          []string          `json:"args"`
	Env           map[string]string `json:"env,omitempty"`
	StdinObject   *ObjectRef        `json:"stdin_object,omitempty"`
	StdoutObject  *ObjectRef        `json:"stdout_object,omitempty"`
	StderrObject  *ObjectRef        `json:"stderr_object,omitempty"`
	Inputs        []InputSpec       `json:"inputs,omitempty"`
	OutPrefix     *ObjectRef        `json:"out_prefix,omitempty"`
	Limits        sandbox.Limits    `json:"limits"`
	Deterministic bool              `json:"deterministic,omitempty"`
	Seed          int64             `json:"seed,omitempty"`
	OutputMeta    store.ObjectMeta  `json:"output_meta"`
	Tenant        string            `json:"tenant,omitempty"`
	KeepPartial   bool              `json:"keep_partial,omitempty"`
	Stdin         bool              `json:"stdin,omitempty"`  // stdin follows the header
	Stdout        bool              `json:"stdout,omitempty"` // send stdout frames
	Stderr        bool              `json:"stderr,omitempty"` // send stderr frames
}

func wireOf(r Request) wireRequest {
	return wireRequest{ID: r.ID, Account: r.Account, Kind: r.Kind, App: r.App, Args: r.Args, Env: r.Env,
		StdinObject: r.StdinObject, StdoutObject: r.StdoutObject, StderrObject: r.StderrObject, Inputs: r.Inputs,
		OutPrefix: r.OutPrefix, Limits: r.Limits, Deterministic: r.Deterministic, Seed: r.Seed, OutputMeta: r.OutputMeta,
		Tenant: r.Tenant, KeepPartial: r.KeepPartial,
		Stdin: r.StdinObject == nil && r.Stdin != nil, Stdout: r.StdoutObject == nil && r.Stdout != nil,
		Stderr: r.StderrObject == nil && r.Stderr != nil}
}

func (w wireRequest) request() Request {
	return Request{ID: w.ID, Account: w.Account, Kind: w.Kind, App: w.App, Args: w.Args, Env: w.Env,
		StdinObject: w.StdinObject, StdoutObject: w.StdoutObject, StderrObject: w.StderrObject, Inputs: w.Inputs,
		OutPrefix: w.OutPrefix, Limits: w.Limits, Deterministic: w.Deterministic, Seed: w.Seed, OutputMeta: w.OutputMeta,
		Tenant: w.Tenant, KeepPartial: w.KeepPartial, Local: true}
}

// wireError is a refusal; Sentinel names one of wireSentinels.
type wireError struct {
	Sentinel string `json:"sentinel,omitempty"`
	Message  string `json:"message"`
}

// wireSentinels are the errors that keep their identity across nodes.
var wireSentinels = []error{ErrAccessDenied, ErrBadRequest, ErrBusy, ErrShuttingDown, ErrNoOpenWith,
	apps.ErrNoSuchApp, apps.ErrInvalidName, store.ErrNoSuchKey, store.ErrNoSuchBucket}

// remoteErr is a refusal from another node: its message, its sentinel.
type remoteErr struct {
	sentinel error
	msg      string
}

func (e *remoteErr) Error() string { return e.msg }
func (e *remoteErr) Unwrap() error { return e.sentinel }

func toWireError(err error) wireError {
	we := wireError{Message: err.Error()}
	for _, s := range wireSentinels {
		if errors.Is(err, s) {
			we.Sentinel = s.Error()
			break
		}
	}
	return we
}

func (we wireError) err() error {
	for _, s := range wireSentinels {
		if we.Sentinel == s.Error() {
			return &remoteErr{sentinel: s, msg: we.Message}
		}
	}
	return errors.New(we.Message)
}

// RunAt executes req on node (this node runs it here) and returns its
// record, streaming the run's stdout and stderr into req.Stdout and
// req.Stderr as it runs. The executing node applies its own admission
// queue, the run's deadline and the account's authorization, and writes
// the record. An answer cut short, an unreachable node or one that goes
// down in the live view while the run is in flight is ErrNodeLost.
func (s *Service) RunAt(ctx context.Context, node string, req Request) (*Record, error) {
	if s.remote == nil || node == s.remote.Self() {
		req.Local = true
		return s.Run(ctx, req)
	}
	if req.ID == "" {
		req.ID = NewID()
	}
	wr := wireOf(req)
	head, err := json.Marshal(wr)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(head)
	body := []io.Reader{bytes.NewReader(binary.BigEndian.AppendUint32(nil, uint32(len(head)))), bytes.NewReader(head)}
	if wr.Stdin {
		body = append(body, req.Stdin)
	}
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go s.watchNode(rctx, node, cancel)
	resp, err := s.remote.Send(rctx, node, RemotePath, http.Header{hdrRunSum: {hex.EncodeToString(sum[:])}}, io.MultiReader(body...))
	if err != nil {
		return nil, lostErr(ctx, rctx, node, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("%w: %s answered %s: %s", ErrNodeLost, node, resp.Status, bytes.TrimSpace(b))
	}
	rec, err := readFrames(resp.Body, req)
	if err != nil && !errors.Is(err, errRefused) && !errors.Is(err, errLocalWrite) {
		return nil, lostErr(ctx, rctx, node, err)
	}
	return rec, unwrapRefusal(err)
}

// watchNode cancels ctx with ErrNodeLost when node leaves the live view
// (a node that stops answering keeps a connection open but loses its
// lease), until ctx is done.
func (s *Service) watchNode(ctx context.Context, node string, cancel context.CancelCauseFunc) {
	t := time.NewTicker(nodeCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !s.remote.Alive(node) {
				cancel(fmt.Errorf("%w: %s is down", ErrNodeLost, node))
				return
			}
		}
	}
}

// lostErr is the error of a remote run that got no complete answer: the
// caller's own cancellation, else ErrNodeLost.
func lostErr(parent, rctx context.Context, node string, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if cause := context.Cause(rctx); errors.Is(cause, ErrNodeLost) {
		return cause
	}
	return fmt.Errorf("%w: %s: %v", ErrNodeLost, node, err)
}

// errRefused and errLocalWrite mark readFrames errors that are not the
// remote node's loss: a refusal it answered, and a failed write here.
var (
	errRefused    = errors.New("runs: refused by the remote node")
	errLocalWrite = errors.New("runs: writing a remote run's output")
)

type refusal struct{ err error }

func (r refusal) Error() string   { return r.err.Error() }
func (r refusal) Unwrap() []error { return []error{errRefused, r.err} }
func unwrapRefusal(err error) error {
	var r refusal
	if errors.As(err, &r) {
		return r.err
	}
	return err
}

// readFrames copies stdout and stderr frames to req's writers until the
// record or a refusal arrives.
func readFrames(r io.Reader, req Request) (*Record, error) {
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if n > maxFrame {
			return nil, fmt.Errorf("frame of %d bytes", n)
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(r, p); err != nil {
			return nil, err
		}
		var w io.Writer
		switch hdr[0] {
		case '1':
			w = req.Stdout
		case '2':
			w = req.Stderr
		case 'R':
			var rec Record
			if err := json.Unmarshal(p, &rec); err != nil {
				return nil, err
			}
			return &rec, nil
		case 'E':
			var we wireError
			if err := json.Unmarshal(p, &we); err != nil {
				return nil, err
			}
			return nil, refusal{we.err()}
		default:
			return nil, fmt.Errorf("frame type %q", hdr[0])
		}
		if w != nil {
			if _, err := w.Write(p); err != nil {
				return nil, fmt.Errorf("%w: %w", errLocalWrite, err)
			}
		}
	}
}

// ServeRemote executes a run for another node (RemotePath). The caller
// is a member: the cluster's handler checked the signature before this
// runs. The run takes this node's admission queue like any other, as
// the account named in the request, and is cancelled if the caller goes.
func (s *Service) ServeRemote(w http.ResponseWriter, r *http.Request) {
	wr, err := readWireRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := wr.request()
	_ = http.NewResponseController(w).EnableFullDuplex() // stdin arrives while stdout leaves
	fw := &frames{w: w, rc: http.NewResponseController(w)}
	w.Header().Set("Content-Type", "application/vnd.insitu.run-stream")
	if wr.Stdin {
		req.Stdin = r.Body
	}
	if wr.Stdout {
		req.Stdout = fw.stream('1')
	}
	if wr.Stderr {
		req.Stderr = fw.stream('2')
	}
	rec, err := s.Run(r.Context(), req)
	if err != nil {
		b, _ := json.Marshal(toWireError(err))
		_ = fw.frame('E', b)
		return
	}
	b, _ := json.Marshal(rec)
	_ = fw.frame('R', b)
}

// readWireRequest reads the header of a RemotePath body and checks it
// against the signed digest.
func readWireRequest(r *http.Request) (wireRequest, error) {
	var wr wireRequest
	var l [4]byte
	if _, err := io.ReadFull(r.Body, l[:]); err != nil {
		return wr, fmt.Errorf("run header: %w", err)
	}
	n := binary.BigEndian.Uint32(l[:])
	if n > maxWireHeader {
		return wr, fmt.Errorf("run header of %d bytes", n)
	}
	head := make([]byte, n)
	if _, err := io.ReadFull(r.Body, head); err != nil {
		return wr, fmt.Errorf("run header: %w", err)
	}
	sum := sha256.Sum256(head)
	if r.Header.Get(hdrRunSum) != hex.EncodeToString(sum[:]) {
		return wr, errors.New("run header does not match its signed digest")
	}
	return wr, json.Unmarshal(head, &wr)
}

// frames writes the answer's frames; safe for concurrent use.
type frames struct {
	mu sync.Mutex
	w  io.Writer
	rc *http.ResponseController
}

func (f *frames) frame(typ byte, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	hdr := binary.BigEndian.AppendUint32([]byte{typ}, uint32(len(p)))
	if _, err := f.w.Write(hdr); err != nil {
		return err
	}
	if _, err := f.w.Write(p); err != nil {
		return err
	}
	return f.rc.Flush()
}

type writeFunc func([]byte) (int, error)

func (f writeFunc) Write(p []byte) (int, error) { return f(p) }

// stream is a writer of typ frames of at most 1 MiB each.
func (f *frames) stream(typ byte) io.Writer {
	return writeFunc(func(p []byte) (int, error) {
		for off := 0; off < len(p); off += 1 << 20 {
			if err := f.frame(typ, p[off:min(len(p), off+1<<20)]); err != nil {
				return off, err
			}
		}
		return len(p), nil
	})
}
