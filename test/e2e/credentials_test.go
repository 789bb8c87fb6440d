package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGeneratedRootCredentials starts `insitu server` without
// INSITU_ROOT_*: it must write DIR/root-credentials.json (mode 0600) with
// keys the aws CLI can use, print them once, and keep them across a
// restart.
func TestGeneratedRootCredentials(t *testing.T) {
	t.Parallel()
	aws := needTool(t, "aws")
	srv := startServer(t, serverOpts{NoRootEnv: true})
	path := filepath.Join(srv.opts.DataDir, "root-credentials.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("generated credentials: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("%s has mode %#o, want 0600", path, perm)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var creds struct {
		AccessKey string `json:"access_key"`
		SecretKey string `json:"secret_key"`
	}
	if err := json.Unmarshal(raw, &creds); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, raw)
	}
	if creds.AccessKey == "" || creds.SecretKey == "" {
		t.Fatalf("%s lacks access_key or secret_key:\n%s", path, raw)
	}
	// The server prints the keys before it answers, but its output reaches
	// srv.log through a pipe copied by another goroutine: allow it a moment.
	printed := func() bool {
		log := srv.log.String()
		return strings.Contains(log, creds.AccessKey) && strings.Contains(log, creds.SecretKey)
	}
	for deadline := time.Now().Add(5 * time.Second); !printed() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !printed() {
		t.Errorf("first start did not print the generated keys")
	}

	env := toolEnv(t, creds.AccessKey, creds.SecretKey)
	mustRun(t, env, toolTimeout, aws, "--endpoint-url", srv.Endpoint, "s3api", "create-bucket", "--bucket", "gen-creds")
	if out := mustRun(t, env, toolTimeout, aws, "--endpoint-url", srv.Endpoint, "s3", "ls"); !strings.Contains(out, "gen-creds") {
		t.Errorf("aws s3 ls with the generated keys: %q lacks gen-creds", out)
	}
	// A wrong secret must be refused.
	bad := toolEnv(t, creds.AccessKey, creds.SecretKey+"x", "AWS_MAX_ATTEMPTS=1")
	if out, err := runTool(bad, toolTimeout, aws, "--endpoint-url", srv.Endpoint, "s3", "ls"); err == nil {
		t.Errorf("aws s3 ls with a wrong secret succeeded: %q", out)
	} else if !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("aws s3 ls with a wrong secret: want SignatureDoesNotMatch, got %v", err)
	}

	srv.Stop()
	srv.Start()
	raw2, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw2) != string(raw) {
		t.Errorf("restart rewrote %s:\nbefore %s\nafter  %s", path, raw, raw2)
	}
	if strings.Contains(srv.log.String(), creds.SecretKey) {
		t.Errorf("restart printed the secret key again; it should be shown once")
	}
	start := time.Now()
	if out := mustRun(t, env, toolTimeout, aws, "--endpoint-url", srv.Endpoint, "s3", "ls"); !strings.Contains(out, "gen-creds") {
		t.Errorf("after restart, aws s3 ls: %q lacks gen-creds", out)
	}
	t.Logf("aws s3 ls after restart: %v", time.Since(start).Round(time.Millisecond))
	srv.Stop()
}
