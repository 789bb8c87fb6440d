package s3api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
	"github.com/insitu-cloud/insitu/internal/store"
)

// Runner executes apps over objects (internal/runs implements it).
type Runner interface {
	Run(ctx context.Context, req runs.Request) (*runs.Record, error)
	LookupOpenWith(ctx context.Context, bucket, contentType string) (string, error)
}

// Query parameters of insitu's compute extensions to S3.
const (
	paramRun         = "x-insitu-run"          // app to run
	paramArgs        = "x-insitu-args"         // its arguments (shell-like words; may repeat)
	paramContentType = "x-insitu-content-type" // Content-Type of a transform's output
	paramOut         = "x-insitu-out"          // run on write: prefix for /out files
	paramOpen        = "open"                  // open-with: run the app registered for the type
)

// splitArgs splits shell-like words: whitespace separates, single and
// double quotes group, backslash escapes the next character. A value with
// NUL is refused (InvalidArgument).
func splitArgs(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		var cur strings.Builder
		in, quote, esc := false, rune(0), false
		for _, r := range v {
			switch {
			case esc:
				cur.WriteRune(r)
				esc, in = false, true
			case r == '\\' && quote != '\'':
				esc = true
			case quote != 0:
				if r == quote {
					quote = 0
				} else {
					cur.WriteRune(r)
				}
			case r == '\'' || r == '"':
				quote, in = r, true
			case r == ' ' || r == '\t' || r == '\n':
				if in {
					out = append(out, cur.String())
					cur.Reset()
					in = false
				}
			default:
				cur.WriteRune(r)
				in = true
			}
		}
		if quote != 0 || esc {
			return nil, apiErr(http.StatusBadRequest, "InvalidArgument", "unbalanced quote or trailing backslash in %s", paramArgs)
		}
		if strings.ContainsRune(v, 0) {
			// A program's argv cannot hold NUL: refuse before any run.
			return nil, apiErr(http.StatusBadRequest, "InvalidArgument", "%s must not contain a NUL character", paramArgs)
		}
		if in {
			out = append(out, cur.String())
		}
	}
	return out, nil
}

// runError maps a refused or failed run to an S3 error.
func runError(err error) error {
	switch {
	case errors.Is(err, apps.ErrNoSuchApp), errors.Is(err, apps.ErrInvalidName):
		return apiErr(http.StatusNotFound, "NoSuchApp", "The app does not exist or is not visible to you.")
	case errors.Is(err, runs.ErrNoOpenWith):
		return apiErr(http.StatusNotFound, "NoOpenWith", "No app is registered to open this content type in this bucket.")
	case errors.Is(err, runs.ErrAccessDenied):
		return errAccessDenied
	case errors.Is(err, runs.ErrBadRequest):
		return apiErr(http.StatusBadRequest, "InvalidArgument", "%s", err.Error())
	case errors.Is(err, runs.ErrBusy):
		return apiErr(http.StatusServiceUnavailable, "SlowDown", "Too many runs are waiting for this account. Please reduce your request rate.")
	case errors.Is(err, runs.ErrShuttingDown):
		return apiErr(http.StatusServiceUnavailable, "ServiceUnavailable", "The node is shutting down. Please retry.")
	}
	return err
}

// failedRun turns a finished but unsuccessful run into an S3 error.
func failedRun(rec *runs.Record) *APIError {
	status, code := http.StatusInternalServerError, "RunFailed"
	switch rec.Status {
	case sandbox.StatusTimeout:
		status, code = http.StatusGatewayTimeout, "RunTimeout"
	case sandbox.StatusMemory, sandbox.StatusQuota:
		status, code = http.StatusInsufficientStorage, "RunLimitExceeded"
	}
	msg := fmt.Sprintf("run %s of %s ended %s (exit %d)", rec.ID, rec.App, rec.Status, rec.ExitCode)
	if rec.Error != "" {
		msg += ": " + rec.Error
	}
	return &APIError{Status: status, Code: code, Message: msg}
}

// lazyWriter delays the response header until the guest writes, so a run
// that fails before any output still gets a clean S3 error.
type lazyWriter struct {
	w       http.ResponseWriter
	header  func()
	started bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.header()
	}
	return l.w.Write(p)
}

// transformObject streams bucket/key through an app to the client: GET
// ?x-insitu-run=APP, or ?open for the bucket's open-with binding.
func (h *Handler) transformObject(req *request, kind string) error {
	if h.runner == nil {
		return errNotImplemented
	}
	info, err := h.engine.HeadObject(req.ctx, req.bucket, req.key)
	if err != nil {
		return err
	}
	if err := checkConditions(req.r.Header, "", info, true); err != nil {
		return err
	}
	app := req.q.Get(paramRun)
	if kind == "open" {
		if app, err = h.runner.LookupOpenWith(req.ctx, req.bucket, info.Meta.ContentType); err != nil {
			return runError(err)
		}
	}
	args, err := splitArgs(req.q[paramArgs])
	if err != nil {
		return err
	}
	ct := firstNonEmpty(req.q.Get(paramContentType), info.Meta.ContentType, "binary/octet-stream")
	id := runs.NewID()
	out := &lazyWriter{w: req.w, header: func() {
		req.w.Header().Set("Content-Type", ct)
		req.w.Header().Set("x-insitu-run-id", id)
		req.w.WriteHeader(http.StatusOK)
	}}
	rr := runs.Request{ID: id, Account: req.account, Kind: kind, App: app, Args: args,
		StdinObject: &runs.ObjectRef{Bucket: req.bucket, Key: req.key},
		Inputs:      []runs.InputSpec{{Object: runs.ObjectRef{Bucket: req.bucket, Key: req.key}}},
		Stdout:      out}
	if len(args) == 0 {
		rr.Args = nil // the manifest's defaults
	}
	rec, err := h.runner.Run(req.ctx, rr)
	if err != nil {
		if out.started {
			panic(http.ErrAbortHandler)
		}
		return runError(err)
	}
	if !rec.OK() {
		if out.started {
			// Headers are gone: cut the connection so the client sees an
			// error, never a short body passed off as whole.
			panic(http.ErrAbortHandler)
		}
		return failedRun(rec)
	}
	if !out.started {
		out.header() // empty output
	}
	return nil
}

// runOnWrite runs an app with the request body on stdin: POST
// /BUCKET/KEY?x-insitu-run=APP. stdout becomes the object KEY and files
// in /out objects under x-insitu-out (default KEY + "/"), only if the run
// exits 0. The answer is the run record as JSON.
func (h *Handler) runOnWrite(req *request) error {
	if h.runner == nil {
		return errNotImplemented
	}
	args, err := splitArgs(req.q[paramArgs])
	if err != nil {
		return err
	}
	prefix := req.key + "/"
	if p := req.q.Get(paramOut); p != "" {
		prefix = p
	}
	if !utf8.ValidString(prefix) {
		return errKeyNotUTF8
	}
	rr := runs.Request{Account: req.account, Kind: "write", App: req.q.Get(paramRun), Args: args,
		Stdin:        req.r.Body,
		StdoutObject: &runs.ObjectRef{Bucket: req.bucket, Key: req.key},
		OutPrefix:    &runs.ObjectRef{Bucket: req.bucket, Key: prefix},
		OutputMeta:   store.ObjectMeta{ContentType: firstNonEmpty(req.q.Get(paramContentType), contentTypeOf(req.key))}}
	if len(args) == 0 {
		rr.Args = nil
	}
	rec, err := h.runner.Run(req.ctx, rr)
	if err != nil {
		return runError(err)
	}
	if !rec.OK() {
		return failedRun(rec)
	}
	req.w.Header().Set("Content-Type", "application/json")
	req.w.Header().Set("x-insitu-run-id", rec.ID)
	req.w.WriteHeader(http.StatusOK)
	return json.NewEncoder(req.w).Encode(rec)
}

func contentTypeOf(key string) string {
	switch strings.ToLower(path.Ext(key)) {
	case ".txt", ".log":
		return "text/plain"
	case ".csv":
		return "text/csv"
	case ".json":
		return "application/json"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	}
	return "binary/octet-stream"
}
