package services

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// TestInternalErrorLogsCause: a 500 (here a service definition that no
// longer decodes) is logged with its cause at Error level on the request's
// logger, under the request's id; the client sees no internals.
func TestInternalErrorLogsCause(t *testing.T) {
	kv, err := meta.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	if err := kv.Put(context.Background(), key("broken"), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	h := obs.NewMetrics().Middleware(logger, NewManager(kv, nil, nil, nil).Handler(nil, "", nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/svc/broken/", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "json") {
		t.Fatalf("%d %q", rec.Code, rec.Body.String())
	}
	id := rec.Header().Get("x-amz-request-id")
	if !hasErrorLog(t, logs.Bytes(), id, "decode broken") {
		t.Fatalf("no Error record with request_id %s and the cause:\n%s", id, logs.String())
	}
}

// hasErrorLog reports whether the JSON log lines hold an ERROR record of
// request id whose err attribute contains cause.
func hasErrorLog(t *testing.T, lines []byte, id, cause string) bool {
	t.Helper()
	for _, line := range bytes.Split(bytes.TrimSpace(lines), []byte("\n")) {
		var r map[string]any
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		e, _ := r["err"].(string)
		if r["level"] == "ERROR" && r["request_id"] == id && strings.Contains(e, cause) {
			return true
		}
	}
	return false
}

// TestClientGoneIsNotAServerError: a run cancelled because its client
// went away is logged at Info and recorded as 499, not as a 502 Error; the
// same error with the client still there is one.
func TestClientGoneIsNotAServerError(t *testing.T) {
	for _, gone := range []bool{true, false} {
		var logs bytes.Buffer
		var code int
		h := obs.NewMetrics().Middleware(slog.New(slog.NewJSONHandler(&logs, nil)), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			code = couldNotRun(r.Context(), w, "hello", &cgiResponse{w: w}, fmt.Errorf("runs: waiting for a sandbox: %w", context.Canceled))
		}))
		req := httptest.NewRequest(http.MethodGet, "/svc/hello/", nil)
		if gone {
			ctx, cancel := context.WithCancel(req.Context())
			cancel()
			req = req.WithContext(ctx)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		hasError := strings.Contains(logs.String(), `"level":"ERROR"`)
		switch {
		case gone && (code != statusClientClosed || hasError || !strings.Contains(logs.String(), "went away")):
			t.Errorf("client gone: status %d, logs:\n%s", code, logs.String())
		case !gone && (code != http.StatusBadGateway || !hasError):
			t.Errorf("client there: status %d, logs:\n%s", code, logs.String())
		}
	}
}

// TestAnswerAfterTheClientLeft: a run that ended on its own after its
// client went away (within the sandbox's cancel grace) counts as the
// client's 499, whatever the guest answered; with the client there, the
// guest's status stands.
func TestAnswerAfterTheClientLeft(t *testing.T) {
	for _, gone := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		if gone {
			cancel()
		}
		rec := httptest.NewRecorder()
		resp := &cgiResponse{w: rec}
		if _, err := resp.Write([]byte("Content-Type: text/plain\r\n\r\nhello\n")); err != nil {
			t.Fatal(err)
		}
		code := answer(ctx, rec, &runs.Record{Status: sandbox.StatusExited}, &limitedBody{r: http.NoBody}, resp)
		cancel()
		switch {
		case gone && code != statusClientClosed:
			t.Errorf("client gone: status %d, want %d", code, statusClientClosed)
		case !gone && code != http.StatusOK:
			t.Errorf("client there: status %d, want 200", code)
		}
	}
}
