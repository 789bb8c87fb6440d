package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var versionCell = regexp.MustCompile(`<tr class="version">\s*<td>([0-9a-f]+|null)`)

// TestObjectVersions: in a bucket with versioning the object page lists
// the versions newest first; an old one downloads by id and can be
// deleted for good; bob can do neither; a bucket without versioning shows
// no versions card.
func TestObjectVersions(t *testing.T) {
	e := start(t, false)
	e.mkBucket(t, e.aliceKey, e.aliceSecret, "hist")
	if _, err := e.node.S3(e.aliceKey, e.aliceSecret).PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{Bucket: aws.String("hist"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"first\n", "second\n", "third\n"} {
		e.put(t, e.aliceKey, e.aliceSecret, "hist", "<b>k</b>.txt", body, nil)
	}
	key := url.QueryEscape("<b>k</b>.txt")
	a := e.login(t, e.aliceKey, e.aliceSecret)
	_, page := a.get("/ui/b/hist/object?key=" + key)
	ids := versionCell.FindAllStringSubmatch(page, -1)
	if len(ids) != 3 || !strings.Contains(page, "(latest)") || strings.Contains(page, "<b>k</b>") {
		t.Fatalf("versions card: %d versions, escaped key %v:\n%s", len(ids), !strings.Contains(page, "<b>k</b>"), page)
	}
	oldest := ids[2][1]
	if st, body := a.get("/ui/b/hist/download?key=" + key + "&version=" + oldest); st != http.StatusOK || body != "first\n" {
		t.Fatalf("download of the oldest version: %d %q", st, body)
	}
	bob := e.login(t, e.bobKey, e.bobSecret)
	if st, body := bob.get("/ui/b/hist/download?key=" + key + "&version=" + oldest); st != http.StatusNotFound || strings.Contains(body, "first") {
		t.Fatalf("bob downloading alice's version: %d", st)
	}
	form := url.Values{"key": {"<b>k</b>.txt"}, "version": {oldest}}
	if resp := bob.change("/ui/b/hist/delete-version", form); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("bob deleting alice's version: %d", resp.StatusCode)
	}
	if resp := a.change("/ui/b/hist/delete-version", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete version: %d\n%s", resp.StatusCode, bodyOf(resp))
	}
	_, page = a.get("/ui/b/hist/object?key=" + key)
	if n := len(versionCell.FindAllStringSubmatch(page, -1)); n != 2 || strings.Contains(page, oldest) {
		t.Fatalf("after deleting the oldest: %d versions listed", n)
	}
	if st, _ := a.get("/ui/b/hist/download?key=" + key + "&version=" + oldest); st != http.StatusNotFound {
		t.Fatalf("download of a deleted version: %d", st)
	}
	e.mkBucket(t, e.aliceKey, e.aliceSecret, "plain")
	e.put(t, e.aliceKey, e.aliceSecret, "plain", "k", "x", nil)
	if _, page := a.get("/ui/b/plain/object?key=k"); strings.Contains(page, `id="versions"`) {
		t.Fatalf("a bucket without versioning shows versions")
	}
}
