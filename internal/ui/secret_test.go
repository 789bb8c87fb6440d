package ui

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/meta"
)

// TestChangedSecretEndsSessions: a key whose secret changes under the
// same access key (root's configured key changed, for example by another
// node of the cluster restarting with a new --root-secret-key) ends the
// sessions signed in with the old secret.
func TestChangedSecretEndsSessions(t *testing.T) {
	ctx := context.Background()
	kv, err := meta.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	accts := auth.NewAccounts(kv)
	if _, _, err := accts.EnsureRoot(ctx, "INROOTKEY", "first-secret"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Accounts: accts}))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ui/login", strings.NewReader(url.Values{"access_key": {"INROOTKEY"}, "secret_key": {"first-secret"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()
	status := func() int {
		resp, err := c.Get(srv.URL + "/ui/accounts")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != http.StatusOK {
		t.Fatalf("accounts page: %d", got)
	}
	if _, _, err := accts.EnsureRoot(ctx, "INROOTKEY", "second-secret"); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != http.StatusSeeOther {
		t.Errorf("after the secret changed: %d, want a redirect to sign in", got)
	}
}
