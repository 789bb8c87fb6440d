package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/api"
	"github.com/insitu-cloud/insitu/internal/apps"
	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/services"
)

// TestInternalErrorLogsCause: an API 500 (here a stored service definition
// that no longer decodes) is logged with its cause at Error level on the
// request's logger, under the request's id; the client sees only
// "InternalError".
func TestInternalErrorLogsCause(t *testing.T) {
	ctx := context.Background()
	kv, err := meta.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	accounts := auth.NewAccounts(kv)
	key, _, err := accounts.EnsureRoot(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := apps.New(kv, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Put(ctx, "services/broken", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := api.New(api.Deps{Verifier: &sigv4.Verifier{Keys: accounts}, Accounts: accounts, Apps: reg,
		Services: services.NewManager(kv, reg, nil, nil)})
	srv := httptest.NewServer(obs.NewMetrics().Middleware(slog.New(slog.NewJSONHandler(&logs, nil)), h))
	defer srv.Close()
	c, err := client.New(client.Config{Endpoint: srv.URL, AccessKey: key.AccessKey, SecretKey: key.Secret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetService(ctx, "broken")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.StatusCode != 500 || ce.Code != "InternalError" || strings.Contains(ce.Message, "json") {
		t.Fatalf("GetService: %v", err)
	}
	srv.Close() // the request's log lines are written
	if !hasErrorLog(t, logs.Bytes(), ce.RequestID, "decode broken") {
		t.Fatalf("no Error record with request_id %q and the cause:\n%s", ce.RequestID, logs.String())
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
		if r["level"] == "ERROR" && r["request_id"] == id && id != "" && strings.Contains(e, cause) {
			return true
		}
	}
	return false
}
