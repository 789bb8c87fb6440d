package ui_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var newKeyRE = regexp.MustCompile(`id="new-access-key">([^<]+)</code>.*id="new-secret-key">([^<]+)</code>`)

// keyShown returns the access and secret key the accounts page shows once.
func keyShown(t *testing.T, resp *http.Response, status int) (string, string) {
	t.Helper()
	body := bodyOf(resp)
	m := newKeyRE.FindStringSubmatch(body)
	if resp.StatusCode != status || m == nil {
		t.Fatalf("%d (want %d) and no new key shown:\n%s", resp.StatusCode, status, body)
	}
	return html.UnescapeString(m[1]), html.UnescapeString(m[2])
}

// TestAccountActions: root adds an account, rotates its key (the old key
// and its sessions stop working), sets and clears its caps; bad names and
// caps are refused in words; alice may do none of it.
func TestAccountActions(t *testing.T) {
	e := start(t, false)
	root := e.login(t, e.node.AccessKey, e.node.SecretKey)
	ak, sk := keyShown(t, root.change("/ui/accounts", url.Values{"name": {"carol"}}), http.StatusCreated)
	carol := e.login(t, ak, sk)
	if _, body := root.get("/ui/accounts"); !strings.Contains(body, "<td>carol</td>") || strings.Contains(html.UnescapeString(body), sk) {
		t.Errorf("the accounts page lacks carol, or shows her secret again")
	}
	for _, bad := range []struct {
		name   string
		status int
		want   string
	}{
		{"carol", http.StatusConflict, "already an account of that name"},
		{"Bad Name", http.StatusBadRequest, "Name the account with"},
		{"<script>x()</script>", http.StatusBadRequest, "Name the account with"},
	} {
		resp := root.change("/ui/accounts", url.Values{"name": {bad.name}})
		if body := bodyOf(resp); resp.StatusCode != bad.status || !strings.Contains(body, bad.want) || strings.Contains(body, "<script>x()") {
			t.Errorf("add %q: %d, want %d with %q", bad.name, resp.StatusCode, bad.status, bad.want)
		}
	}

	ak2, sk2 := keyShown(t, root.change("/ui/accounts/carol/rotate", nil), http.StatusOK)
	if ak2 == ak || sk2 == sk {
		t.Fatalf("rotation kept the key")
	}
	if code, _ := carol.get("/ui/buckets"); code != http.StatusSeeOther {
		t.Errorf("carol's session after rotation: %d, want a redirect to sign in", code)
	}
	if resp := e.newBrowser(t).postForm("/ui/login", url.Values{"access_key": {ak}, "secret_key": {sk}}, nil); resp.StatusCode == http.StatusSeeOther {
		t.Errorf("the rotated key still signs in")
	}
	e.login(t, ak2, sk2)

	if resp := root.change("/ui/accounts/carol/caps", url.Values{"memory": {"32MiB"}, "timeout": {"5s"}}); resp.StatusCode != http.StatusOK ||
		!strings.Contains(bodyOf(resp), "memory 32.0 MiB, timeout 5s") {
		t.Errorf("set caps: %d", resp.StatusCode)
	}
	if resp := root.change("/ui/accounts/carol/caps", url.Values{"memory": {"lots"}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(bodyOf(resp), "The caps were refused") {
		t.Errorf("bad caps: %d", resp.StatusCode)
	}
	if resp := root.change("/ui/accounts/nobody/rotate", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("rotating a missing account: %d", resp.StatusCode)
	}
	if resp := root.change("/ui/accounts/carol/caps", nil); !strings.Contains(bodyOf(resp), "Cleared the caps of carol.") {
		t.Errorf("clearing caps: %d", resp.StatusCode)
	}

	alice := e.login(t, e.aliceKey, e.aliceSecret)
	for _, p := range []string{"/ui/accounts", "/ui/accounts/bob/rotate", "/ui/accounts/bob/caps"} {
		resp := alice.change(p, url.Values{"name": {"mallory"}, "memory": {"1MiB"}})
		if body := bodyOf(resp); resp.StatusCode != http.StatusForbidden || strings.Contains(body, "new-secret-key") {
			t.Errorf("alice POST %s: %d, want 403", p, resp.StatusCode)
		}
	}
	if code, _ := alice.get("/ui/accounts"); code != http.StatusForbidden {
		t.Errorf("alice GET /ui/accounts: %d", code)
	}
	e.login(t, e.bobKey, e.bobSecret)
	if _, body := root.get("/ui/accounts"); strings.Contains(body, "mallory") || strings.Contains(body, "memory 1.0 MiB") {
		t.Errorf("alice's posts changed the accounts")
	}
}
