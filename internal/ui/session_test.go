package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// sessionCookie returns the Set-Cookie of a successful sign-in.
func sessionCookie(t *testing.T, e *env) *http.Cookie {
	t.Helper()
	b := e.newBrowser(t)
	resp := b.postForm("/ui/login", url.Values{"access_key": {e.aliceKey}, "secret_key": {e.aliceSecret}}, nil)
	for _, ck := range resp.Cookies() {
		if ck.Name == "insitu_session" {
			return ck
		}
	}
	t.Fatalf("no session cookie (status %d)", resp.StatusCode)
	return nil
}

func TestCookieFlags(t *testing.T) {
	for _, tls := range []bool{false, true} {
		e := start(t, tls)
		ck := sessionCookie(t, e)
		if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/ui/" || ck.Secure != tls || len(ck.Value) < 40 {
			t.Errorf("tls=%v: cookie %+v: want HttpOnly, SameSite=Strict, Path=/ui/, Secure=%v, a long random value", tls, ck, tls)
		}
		if want := e.clock.Now().Add(24 * time.Hour); ck.Expires.Before(want.Add(-time.Minute)) || ck.Expires.After(want.Add(time.Minute)) {
			t.Errorf("tls=%v: cookie expires %v, want about %v", tls, ck.Expires, want)
		}
		if strings.Contains(ck.Value, e.aliceSecret) {
			t.Errorf("the cookie holds the secret")
		}
		if again := sessionCookie(t, e); again.Value == ck.Value {
			t.Errorf("two sign-ins got the same session id")
		}
	}
}

func TestLoginRefusesWrongSecret(t *testing.T) {
	e := start(t, false)
	for _, form := range []url.Values{
		{"access_key": {e.aliceKey}, "secret_key": {e.aliceSecret + "x"}},
		{"access_key": {e.aliceKey}, "secret_key": {e.bobSecret}},
		{"access_key": {"INNOSUCHKEY"}, "secret_key": {e.aliceSecret}},
		{"access_key": {""}, "secret_key": {""}},
	} {
		b := e.newBrowser(t)
		resp := b.postForm("/ui/login", form, nil)
		if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 || !strings.Contains(bodyOf(resp), "Wrong access key or secret key") {
			t.Errorf("login %v: %d cookies %v, want 401 with the reason and no cookie", form.Get("access_key"), resp.StatusCode, resp.Cookies())
		}
		if code, _ := b.get("/ui/"); code != http.StatusSeeOther {
			t.Errorf("after a refused login the overview answered %d", code)
		}
	}
	// A cross-site sign-in form is refused too (login CSRF).
	b := e.newBrowser(t)
	resp := b.postForm("/ui/login", url.Values{"access_key": {e.aliceKey}, "secret_key": {e.aliceSecret}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login: %d, want 403", resp.StatusCode)
	}
}

// bucketExists reports whether alice's dashboard lists name.
func bucketExists(t *testing.T, e *env, name string) bool {
	_, err := e.node.S3(e.aliceKey, e.aliceSecret).HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: &name})
	return err == nil
}

func TestCSRFRefusesForgedPosts(t *testing.T) {
	e := start(t, false)
	alice := e.login(t, e.aliceKey, e.aliceSecret)
	bob := e.login(t, e.bobKey, e.bobSecret)
	cases := []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no token", url.Values{}, nil},
		{"wrong token", url.Values{"csrf": {"AAAA" + alice.csrf[4:]}}, nil},
		{"other session's token", url.Values{"csrf": {bob.csrf}}, nil},
		{"cross-site with the right token", url.Values{"csrf": {alice.csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"foreign Origin with the right token", url.Values{"csrf": {alice.csrf}}, map[string]string{"Sec-Fetch-Site": "", "Origin": "http://evil.example"}},
	}
	for i, tc := range cases {
		name := "forged-" + string(rune('a'+i))
		tc.form.Set("name", name)
		resp := alice.postForm("/ui/buckets", tc.form, tc.hdr)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, resp.StatusCode)
		}
		if bucketExists(t, e, name) {
			t.Errorf("%s: the bucket was created", tc.name)
		}
	}
	// The token in a header works like the form field (the upload script).
	resp := alice.postForm("/ui/buckets", url.Values{"name": {"good-one"}}, map[string]string{"X-CSRF-Token": alice.csrf})
	if resp.StatusCode != http.StatusSeeOther || !bucketExists(t, e, "good-one") {
		t.Errorf("a same-origin post with the token: %d", resp.StatusCode)
	}
	// Logging out is a change too: a forged logout does nothing.
	if resp := alice.postForm("/ui/logout", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without a token: %d", resp.StatusCode)
	}
	if code, _ := alice.get("/ui/"); code != http.StatusOK {
		t.Errorf("the session ended after a forged logout: %d", code)
	}
}

func TestSessionExpiry(t *testing.T) {
	e := start(t, false)
	// Idle: 12 hours without a request ends it.
	b := e.login(t, e.aliceKey, e.aliceSecret)
	e.clock.Add(11 * time.Hour)
	if code, _ := b.get("/ui/"); code != http.StatusOK {
		t.Fatalf("after 11 h idle: %d, want 200", code)
	}
	e.clock.Add(12*time.Hour + time.Second)
	if code, _ := b.get("/ui/"); code != http.StatusSeeOther {
		t.Fatalf("after 12 h idle: %d, want a redirect to sign in", code)
	}
	// Absolute: 24 hours after sign-in, however busy.
	b = e.login(t, e.aliceKey, e.aliceSecret)
	for i := 0; i < 3; i++ {
		e.clock.Add(8 * time.Hour)
		code, _ := b.get("/ui/")
		if want := map[bool]int{true: http.StatusOK, false: http.StatusSeeOther}[i < 2]; code != want {
			t.Fatalf("after %d h of use: %d, want %d", 8*(i+1), code, want)
		}
	}
}

func TestLogoutKillsTheCookie(t *testing.T) {
	e := start(t, false)
	b := e.login(t, e.aliceKey, e.aliceSecret)
	u, _ := url.Parse(b.base + "/ui/")
	old := b.c.Jar.Cookies(u)
	resp := b.change("/ui/logout", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login" {
		t.Fatalf("logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	b.c.Jar.SetCookies(u, old) // a thief kept the cookie
	if code, _ := b.get("/ui/buckets"); code != http.StatusSeeOther {
		t.Errorf("old cookie after logout: %d, want a redirect to sign in", code)
	}
	if resp := b.change("/ui/buckets", url.Values{"name": {"after-logout"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("old cookie and token after logout: %d, want 403", resp.StatusCode)
	}
}

func TestRotatedOrRemovedKeyEndsSessions(t *testing.T) {
	e := start(t, false)
	ctx := context.Background()
	alice := e.login(t, e.aliceKey, e.aliceSecret)
	bob := e.login(t, e.bobKey, e.bobSecret)
	if _, err := e.root.RotateKey(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if code, _ := alice.get("/ui/"); code != http.StatusSeeOther {
		t.Errorf("after alice's key was rotated: %d, want a redirect to sign in", code)
	}
	if code, _ := bob.get("/ui/"); code != http.StatusOK {
		t.Errorf("bob's session ended with alice's key: %d", code)
	}
	if err := e.root.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if code, _ := bob.get("/ui/"); code != http.StatusSeeOther {
		t.Errorf("after bob was removed: %d, want a redirect to sign in", code)
	}
	// A new bob with the same name does not revive the old session.
	if _, err := e.root.CreateUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if code, _ := bob.get("/ui/"); code != http.StatusSeeOther {
		t.Errorf("a new bob revived the old session: %d", code)
	}
}

// TestLoginRateLimit: past 10 attempts a minute for one access key, or 30
// from one address, sign-in answers 429 in words (even with the right
// secret) until the minute is over.
func TestLoginRateLimit(t *testing.T) {
	e := start(t, false)
	b := e.newBrowser(t)
	for range 10 {
		b.postForm("/ui/login", url.Values{"access_key": {e.aliceKey}, "secret_key": {"guess"}}, nil)
	}
	resp := b.postForm("/ui/login", url.Values{"access_key": {e.aliceKey}, "secret_key": {e.aliceSecret}}, nil)
	if body := bodyOf(resp); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many sign-in attempts for this access key") ||
		resp.Header.Get("Retry-After") == "" || len(resp.Cookies()) != 0 {
		t.Fatalf("the 11th attempt for alice's key: %d %v\n%s", resp.StatusCode, resp.Cookies(), body)
	}
	e.login(t, e.bobKey, e.bobSecret) // another key from the same address is fine
	for i := range 20 {
		b.postForm("/ui/login", url.Values{"access_key": {"AKNOSUCH" + strconv.Itoa(i)}, "secret_key": {"x"}}, nil)
	}
	resp = b.postForm("/ui/login", url.Values{"access_key": {e.bobKey}, "secret_key": {e.bobSecret}}, nil)
	if body := bodyOf(resp); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "from your address") {
		t.Fatalf("the 32nd attempt from one address: %d\n%s", resp.StatusCode, body)
	}
	e.clock.Add(time.Minute)
	e.login(t, e.aliceKey, e.aliceSecret)
}

// TestCSRFOnEveryNewForm: every state-changing route of the runs, jobs,
// services, instances, apps and open-with forms refuses a post without the token and a
// cross-site post with it.
func TestCSRFOnEveryNewForm(t *testing.T) {
	e := start(t, false)
	b := e.login(t, e.aliceKey, e.aliceSecret)
	for _, p := range []string{"/ui/jobs", "/ui/jobs/x/cancel", "/ui/services", "/ui/services/x", "/ui/services/x/delete",
		"/ui/instances", "/ui/instances/i-0123456789abcdef0/stop", "/ui/instances/i-0123456789abcdef0/terminate",
		"/ui/apps", "/ui/apps/x/1/delete", "/ui/b/x/open-with", "/ui/b/x/open-with/delete", "/ui/b/x/delete-version",
		"/ui/accounts", "/ui/accounts/x/rotate", "/ui/accounts/x/caps", "/ui/accounts/x/remove"} {
		if resp := b.postForm(p, url.Values{"name": {"forged"}}, nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(bodyOf(resp), "Reload the page") {
			t.Errorf("POST %s without the token: %d", p, resp.StatusCode)
		}
		resp := b.postForm(p, url.Values{"name": {"forged"}, "csrf": {b.csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(bodyOf(resp), "another site") {
			t.Errorf("cross-site POST %s: %d", p, resp.StatusCode)
		}
	}
}
