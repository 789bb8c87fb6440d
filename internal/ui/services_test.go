package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// pushHello pushes examples/services/hello as ak's app "hello".
func (e *env) pushHello(t *testing.T, c *client.Client) {
	t.Helper()
	mod, err := testtool.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(filepath.Join(mod, "examples", "services", "hello", "hello.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PushApp(context.Background(), "hello", "1", wasm, nil, false); err != nil {
		t.Fatal(err)
	}
}

// get fetches path from the node without a session.
func (e *env) get(t *testing.T, path string) int {
	t.Helper()
	resp, err := e.node.HTTPClient().Get(e.node.Endpoint() + path)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

var requestsRE = regexp.MustCompile(`id="svc-requests">(\d+)<`)

// requests reads the request count off a service's live fragment.
func (b *browser) requests(name string) int {
	b.t.Helper()
	code, body := b.get("/ui/services/" + name + "/stats")
	m := requestsRE.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		b.t.Fatalf("stats of %s: %d\n%s", name, code, body)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestServicePages creates, updates and deletes a service through the
// pages, watches its stats move, and keeps bob's service out of reach.
func TestServicePages(t *testing.T) {
	e := start(t, false)
	e.pushHello(t, e.as(t, e.aliceKey, e.aliceSecret))
	b := e.login(t, e.aliceKey, e.aliceSecret)
	resp := b.change("/ui/services", url.Values{"name": {"greet"}, "app": {"hello"}, "public": {"on"}, "timeout": {"5s"}, "memory": {"32MiB"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/services/greet" {
		t.Fatalf("create service: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), bodyOf(resp))
	}
	if n := b.requests("greet"); n != 0 {
		t.Fatalf("a new service has %d requests", n)
	}
	for range 3 {
		if code := e.get(t, "/svc/greet/"); code != http.StatusOK {
			t.Fatalf("GET /svc/greet/: %d", code)
		}
	}
	if n := b.requests("greet"); n != 3 {
		t.Errorf("after 3 requests the page shows %d", n)
	}
	code, body := b.get("/ui/services/greet")
	for _, want := range []string{`id="svc-hist"`, "200: <b>3</b>", `&#34;timeout&#34;: 5000000000`, "/ui/static/live.js", `id="svc-rate">0.05<`} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("service page (%d) lacks %q:\n%s", code, want, body)
		}
	}
	if _, body := b.get("/ui/services"); !strings.Contains(body, `href="/ui/services/greet"`) {
		t.Errorf("the list misses greet")
	}
	// Update: private now, so an unsigned request is refused.
	if resp := b.change("/ui/services/greet", url.Values{"app": {"hello"}, "timeout": {"5s"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d\n%s", resp.StatusCode, bodyOf(resp))
	}
	if code := e.get(t, "/svc/greet/"); code == http.StatusOK {
		t.Errorf("a private service answered an unsigned request")
	}
	badServiceForms(t, b)
	servicesHideBobs(t, e, b)
	if resp := b.postForm("/ui/services/greet/delete", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("delete without the CSRF token: %d", resp.StatusCode)
	}
	if resp := b.change("/ui/services/greet/delete", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if code, _ := b.get("/ui/services/greet"); code != http.StatusNotFound {
		t.Errorf("a deleted service's page: %d", code)
	}
}

func badServiceForms(t *testing.T, b *browser) {
	for _, bad := range []struct {
		path string
		form url.Values
		want string
		code int
	}{
		{"/ui/services", url.Values{"name": {"<script>x()</script>"}, "app": {"hello"}}, "refused", http.StatusBadRequest},
		{"/ui/services", url.Values{"name": {"greet"}, "app": {"hello"}}, "exists", http.StatusConflict},
		{"/ui/services", url.Values{"definition": {`{"name":"x","nope":1}`}}, "not valid JSON", http.StatusBadRequest},
		{"/ui/services/greet", url.Values{"memory": {"lots"}}, "refused", http.StatusBadRequest},
	} {
		resp := b.change(bad.path, bad.form)
		body := bodyOf(resp)
		if resp.StatusCode != bad.code || !strings.Contains(body, bad.want) || strings.Contains(body, "<script>x()") {
			t.Errorf("POST %s %v: %d, want %d with %q, escaped:\n%s", bad.path, bad.form, resp.StatusCode, bad.code, bad.want, body)
		}
	}
	if resp := b.postForm("/ui/services", url.Values{"name": {"forged"}, "app": {"hello"}, "csrf": {b.csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site create: %d", resp.StatusCode)
	}
}

// servicesHideBobs tries bob's service through every service URL of alice's.
func servicesHideBobs(t *testing.T, e *env, alice *browser) {
	bob := e.as(t, e.bobKey, e.bobSecret)
	e.pushHello(t, bob)
	pub := true
	if _, err := bob.CreateService(context.Background(), "bobsvc", client.ServiceSpec{App: "hello", Public: &pub}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/ui/services/bobsvc", "/ui/services/bobsvc/stats"} {
		if code, body := alice.get(p); code != http.StatusNotFound || strings.Contains(body, "hello:1") {
			t.Errorf("GET %s as alice: %d\n%s", p, code, body)
		}
	}
	for _, p := range []string{"/ui/services/bobsvc", "/ui/services/bobsvc/delete"} {
		if resp := alice.change(p, url.Values{"app": {"hello"}, "public": {""}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s as alice: %d", p, resp.StatusCode)
		}
	}
	if _, body := alice.get("/ui/services"); strings.Contains(body, "bobsvc") {
		t.Errorf("alice's list shows bob's service")
	}
	if s, err := bob.GetService(context.Background(), "bobsvc"); err != nil || !s.Public {
		t.Errorf("bob's service after alice's tries: %+v %v", s, err)
	}
}
