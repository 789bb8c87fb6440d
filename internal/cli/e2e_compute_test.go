package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

func exampleDir(t *testing.T, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "examples", "apps", name)
}

// TestE2ECompute drives apps and runs through the CLI as a user would.
func TestE2ECompute(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	node := apptest.Start(t, apptest.Options{})
	c := newCLI(t, node)
	for _, app := range []string{"wc", "grep", "upper"} {
		dir := exampleDir(t, app)
		out := c.ok("app", "push", app, filepath.Join(dir, app+".wasm"), "--manifest", filepath.Join(dir, "app.json"), "--public")
		if !strings.HasPrefix(out, "pushed "+app+":") {
			t.Fatalf("app push %s: %q", app, out)
		}
	}
	if out := c.ok("app", "ls"); !strings.Contains(out, "grep") || !strings.Contains(out, "upper") {
		t.Fatalf("app ls: %q", out)
	}
	if out := c.ok("app", "show", "wc"); !strings.Contains(out, `"digest"`) {
		t.Fatalf("app show: %q", out)
	}
	bad := filepath.Join(t.TempDir(), "bad.wasm")
	if err := os.WriteFile(bad, []byte("not wasm"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.fails("InvalidModule", "app", "push", "bad", bad)

	c.ok("mb", "s3://logs")
	code, _, errOut := c.run("INFO start\nERROR disk full\nINFO ok\nERROR again\n", "cp", "-", "s3://logs/today.log")
	if code != 0 {
		t.Fatalf("cp -: %s", errOut)
	}
	// stdout streams to the terminal; the exit status is the guest's.
	if out := c.ok("run", "wc", "--stdin", "s3://logs/today.log"); strings.Fields(out)[0] != "4" {
		t.Fatalf("run wc: %q", out)
	}
	if out := c.ok("run", "grep", "--in", "s3://logs/today.log:/in/logs/t.log", "--", "-c", "ERROR", "/in/logs/t.log"); strings.TrimSpace(out) != "2" {
		t.Fatalf("run grep -c: %q", out)
	}
	code, out, _ := c.run("", "run", "grep", "--stdin", "s3://logs/today.log", "--quiet", "--", "NOTTHERE")
	if code != 1 || out != "" {
		t.Fatalf("grep without a match: exit %d, out %q (want the guest's exit 1)", code, out)
	}
	// Outputs to objects, then read back.
	c.ok("run", "upper", "--stdin", "s3://logs/today.log", "--stdout", "s3://logs/upper.log")
	if out := c.ok("cat", "s3://logs/upper.log"); !strings.HasPrefix(out, "INFO START\nERROR DISK FULL") {
		t.Fatalf("upper output object: %q", out)
	}
	// Detached, then the record.
	id := strings.TrimSpace(c.ok("run", "--detach", "wc", "--stdin", "s3://logs/today.log"))
	if len(id) != 36 {
		t.Fatalf("run --detach printed %q", id)
	}
	if out := c.ok("runs", "ls"); !strings.Contains(out, "root/wc:") {
		t.Fatalf("runs ls: %q", out)
	}
	// One run a page: the hint names the token of the next page.
	code, first, hint := c.run("", "runs", "ls", "--limit", "1")
	token, found := strings.CutPrefix(strings.TrimSpace(hint), "more: --after ")
	if code != 0 || !found || strings.Count(first, "\n") != 2 || !strings.Contains(first, token) {
		t.Fatalf("runs ls --limit 1: exit %d, out %q, stderr %q", code, first, hint)
	}
	if second := c.ok("runs", "ls", "--limit", "1", "--after", token); strings.Contains(second, token) || strings.Count(second, "\n") != 2 {
		t.Fatalf("runs ls --after %s: %q", token, second)
	}
	// open-with, then a plain object read through ?open is exercised in
	// internal/app; here the registration round-trips.
	c.ok("bucket", "open-with", "logs", "text/*", "upper")
	if out := c.ok("bucket", "open-with", "logs"); !strings.Contains(out, "text/*\tupper") {
		t.Fatalf("open-with list: %q", out)
	}
	// Another account may not run over these objects.
	keys := c.ok("admin", "user", "add", "eve", "--json")
	ak, sk := jsonField(t, keys, "access_key"), jsonField(t, keys, "secret_key")
	c.as(ak, sk).fails("AccessDenied", "run", "wc", "--stdin", "s3://logs/today.log")
}

func jsonField(t *testing.T, doc, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("not JSON: %q", doc)
	}
	s, _ := m[field].(string)
	if s == "" {
		t.Fatalf("no %q in %s", field, doc)
	}
	return s
}
