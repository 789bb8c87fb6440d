package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestAccountRemoval: root removes an account from the page after a
// confirmation step, through the function `insitu admin user rm` reaches:
// root itself and an account that still owns a bucket are refused in
// words; once removed, the account's old cookie and key no longer work.
// Alice never sees the action, and her forged posts are refused (403).
func TestAccountRemoval(t *testing.T) {
	e := start(t, false)
	root := e.login(t, e.node.AccessKey, e.node.SecretKey)
	ak, sk := keyShown(t, root.change("/ui/accounts", url.Values{"name": {"carol"}}), http.StatusCreated)
	carol := e.login(t, ak, sk)
	bob := e.login(t, e.bobKey, e.bobSecret)
	e.mkBucket(t, ak, sk, "carols")

	if _, body := root.get("/ui/accounts"); !strings.Contains(body, `href="/ui/accounts/carol/remove"`) || strings.Contains(body, `href="/ui/accounts/root/remove"`) {
		t.Errorf("the accounts page should offer carol's removal and not root's:\n%s", body)
	}
	code, body := root.get("/ui/accounts/carol/remove")
	if code != http.StatusOK || !strings.Contains(body, `id="confirm-remove"`) || !strings.Contains(body, "buckets, apps or services") {
		t.Errorf("confirmation page: %d\n%s", code, body)
	}
	if code, body := root.get("/ui/accounts/root/remove"); code != http.StatusBadRequest || !strings.Contains(body, "The root account cannot be removed.") {
		t.Errorf("confirming root's removal: %d", code)
	}
	if resp := root.change("/ui/accounts/root/remove", nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(bodyOf(resp), "The root account cannot be removed.") {
		t.Errorf("removing root: %d", resp.StatusCode)
	}

	alice := e.login(t, e.aliceKey, e.aliceSecret)
	if _, body := alice.get("/ui/"); strings.Contains(body, "/remove") {
		t.Errorf("alice sees a removal action")
	}
	for _, p := range []string{"/ui/accounts/carol/remove", "/ui/accounts/bob/remove"} {
		if code, _ := alice.get(p); code != http.StatusForbidden {
			t.Errorf("alice GET %s: %d, want 403", p, code)
		}
		if resp := alice.change(p, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("alice POST %s: %d, want 403", p, resp.StatusCode)
		}
	}
	if _, body := root.get("/ui/accounts"); !strings.Contains(body, "<td>bob</td>") || !strings.Contains(body, "<td>carol</td>") {
		t.Errorf("alice's forged posts removed an account")
	}

	resp := root.change("/ui/accounts/carol/remove", nil)
	if body := bodyOf(resp); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "carol was not removed: carol owns 1 bucket(s), 0 app version(s), 0 service(s), 0 instance(s); remove them first") {
		t.Errorf("removing carol with a bucket: %d\n%s", resp.StatusCode, body)
	}
	if code, _ := carol.get("/ui/buckets"); code != http.StatusOK {
		t.Errorf("carol's session after a refused removal: %d", code)
	}
	if _, err := e.node.S3(ak, sk).DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: aws.String("carols")}); err != nil {
		t.Fatal(err)
	}
	resp = root.change("/ui/accounts/carol/remove", nil)
	if body := bodyOf(resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Removed carol: its keys no longer work") || strings.Contains(body, "<td>carol</td>") {
		t.Errorf("removing carol: %d\n%s", resp.StatusCode, body)
	}
	if code, _ := carol.get("/ui/buckets"); code != http.StatusSeeOther {
		t.Errorf("carol's old cookie after removal: %d, want a redirect to sign in", code)
	}
	if resp := e.newBrowser(t).postForm("/ui/login", url.Values{"access_key": {ak}, "secret_key": {sk}}, nil); resp.StatusCode == http.StatusSeeOther {
		t.Errorf("the removed account's key still signs in")
	}
	if resp := root.change("/ui/accounts/carol/remove", nil); resp.StatusCode != http.StatusNotFound || !strings.Contains(bodyOf(resp), "There is no account of that name.") {
		t.Errorf("removing carol again: %d", resp.StatusCode)
	}
	if code, _ := bob.get("/ui/buckets"); code != http.StatusOK {
		t.Errorf("bob's session ended with carol's removal: %d", code)
	}
}
