package ui_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// pushForm posts the apps page's push form (multipart) with the fields
// and the module, adding the CSRF token unless fields set it.
func (b *browser) pushForm(fields map[string]string, wasm []byte, hdr map[string]string) *http.Response {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if _, ok := fields["csrf"]; !ok {
		_ = mw.WriteField("csrf", b.csrf)
	}
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if wasm != nil {
		fw, _ := mw.CreateFormFile("wasm", "app.wasm")
		_, _ = fw.Write(wasm)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.base+"/ui/apps", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

func exampleWasm(t *testing.T, parts ...string) []byte {
	t.Helper()
	mod, err := testtool.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(append([]string{mod, "examples"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAppsPage pushes a module with its manifest from the page, runs it,
// lists own and public apps (never bob's private one), refuses bad pushes
// in words, forged posts, and removal of another account's app.
func TestAppsPage(t *testing.T) {
	e := start(t, false)
	wasm := exampleWasm(t, "apps", "upper", "upper.wasm")
	bob := e.as(t, e.bobKey, e.bobSecret)
	if _, err := bob.PushApp(context.Background(), "bobsecret", "1", wasm, nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.PushApp(context.Background(), "bobshared", "2", wasm, nil, true); err != nil {
		t.Fatal(err)
	}
	b := e.login(t, e.aliceKey, e.aliceSecret)
	manifest := `{"description": "<script>alert(1)</script> shouts", "content_types": ["text/plain"], "limits": {"memory": "32MiB"}}`
	resp := b.pushForm(map[string]string{"name": "shout", "version": "1.0", "manifest": manifest}, wasm, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/apps?") {
		t.Fatalf("push: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), bodyOf(resp))
	}
	resp = b.pushForm(map[string]string{"name": "shout", "version": "1.1"}, wasm, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("push of a second version: %d\n%s", resp.StatusCode, bodyOf(resp))
	}
	alice := e.as(t, e.aliceKey, e.aliceSecret)
	var out bytes.Buffer
	if _, err := alice.Run(context.Background(), client.RunSpec{App: "shout:1.0", StdinData: "hi\n"}, &out, io.Discard); err != nil || out.String() != "HI\n" {
		t.Fatalf("running the pushed app: %q %v", out.String(), err)
	}
	a, err := alice.GetApp(context.Background(), "", "shout", "1.0")
	if err != nil {
		t.Fatal(err)
	}
	if lim, _ := a.Manifest["limits"].(map[string]any); err != nil || lim["memory"] != "32MiB" || a.Public {
		t.Errorf("the pushed app through the API: %+v %v", a, err)
	}

	code, body := b.get("/ui/apps")
	if code != http.StatusOK {
		t.Fatalf("apps page: %d\n%s", code, body)
	}
	for _, want := range []string{"<td>shout</td><td>1.0</td>", "<td>shout</td><td>1.1</td>", "bobshared", "&lt;script&gt;alert(1)", "opens text/plain",
		`action="/ui/apps/shout/1.0/delete"`, "wc"} {
		if !strings.Contains(body, want) {
			t.Errorf("apps page lacks %q", want)
		}
	}
	if strings.Contains(body, "bobsecret") || strings.Contains(body, "<script>alert(1)") || strings.Contains(body, `action="/ui/apps/bobshared`) {
		t.Errorf("apps page shows bob's private app, a remove button for his public one, or an unescaped description")
	}

	for _, bad := range []struct {
		fields map[string]string
		wasm   []byte
		status int
		want   string
	}{
		{map[string]string{"name": "Bad Name"}, wasm, http.StatusBadRequest, "Name the app with"},
		{map[string]string{"name": "shout", "version": "1.0"}, exampleWasm(t, "apps", "wc", "wc.wasm"), http.StatusConflict, "give the new module a new version"},
		{map[string]string{"name": "junk"}, []byte("not wasm"), http.StatusBadRequest, "The module was refused"},
		{map[string]string{"name": "junk", "manifest": `{"nope": 1}`}, wasm, http.StatusBadRequest, "The manifest was refused"},
		{map[string]string{"name": "junk"}, nil, http.StatusBadRequest, "Choose a WebAssembly module"},
	} {
		resp := b.pushForm(bad.fields, bad.wasm, nil)
		if body := bodyOf(resp); resp.StatusCode != bad.status || !strings.Contains(body, bad.want) {
			t.Errorf("push %v: %d, want %d with %q", bad.fields, resp.StatusCode, bad.status, bad.want)
		}
	}
	resp = b.postForm("/ui/buckets", url.Values{"name": {strings.Repeat("x", 100<<10)}, "csrf": {b.csrf}}, nil)
	if body := bodyOf(resp); resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "The form is larger than this page accepts (64.0 KiB)") {
		t.Errorf("a 100 KiB form: %d, want 413 in words", resp.StatusCode)
	}
	if resp := b.pushForm(map[string]string{"name": "forged", "csrf": "x"}, wasm, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("push without the CSRF token: %d", resp.StatusCode)
	}
	if resp := b.pushForm(map[string]string{"name": "forged"}, wasm, map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site push: %d", resp.StatusCode)
	}
	if resp := b.postForm("/ui/apps/shout/1.1/delete", url.Values{"csrf": {"x"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("remove without the CSRF token: %d", resp.StatusCode)
	}
	if resp := b.change("/ui/apps/bobshared/2/delete", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("alice removing bob's app: %d", resp.StatusCode)
	}
	if _, err := bob.GetApp(context.Background(), "", "bobshared", "2"); err != nil {
		t.Errorf("bob's app after alice's try: %v", err)
	}
	if resp := b.change("/ui/apps/shout/1.0/delete", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d\n%s", resp.StatusCode, bodyOf(resp))
	}
	if _, body := b.get("/ui/apps"); strings.Contains(body, "<td>shout</td><td>1.0</td>") || !strings.Contains(body, "<td>shout</td><td>1.1</td>") {
		t.Errorf("after removing 1.0 the page shows the wrong versions")
	}
	if _, body := e.login(t, e.bobKey, e.bobSecret).get("/ui/apps"); strings.Contains(body, "shout") {
		t.Errorf("bob sees alice's private app")
	}
}
