package s3api_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// postUpload sends a browser-style multipart/form-data POST: the fields,
// then the file last, as a browser does; origin, when set, is sent as
// Origin.
func postUpload(t *testing.T, node *apptest.Node, u string, fields map[string]string, filename string, file []byte, origin string) *http.Response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	mw.WriteField("after-the-file", "ignored")
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, u, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	c := node.HTTPClient()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// errorCode reads an S3 error body's code and message.
func errorCode(t *testing.T, resp *http.Response) (string, string) {
	t.Helper()
	defer resp.Body.Close()
	var e struct{ Code, Message string }
	b, _ := io.ReadAll(resp.Body)
	_ = xml.Unmarshal(b, &e)
	return e.Code, e.Message
}

// TestPostObject uploads through forms signed by minio-go's
// PresignedPostPolicy (a SigV4 POST policy) and checks every refusal
// stores nothing.
func TestPostObject(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	mc := node.Minio(t, "", "", false)
	c := node.S3("", "")
	if err := mc.MakeBucket(ctx, "forms", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	policy := func(edit func(p *minio.PostPolicy)) (string, map[string]string) {
		t.Helper()
		p := minio.NewPostPolicy()
		p.SetBucket("forms")
		p.SetKeyStartsWith("up/")
		p.SetExpires(time.Now().Add(time.Hour))
		p.SetContentLengthRange(1, 1<<20)
		p.SetContentType("text/plain")
		p.SetUserMetadata("origin", "form")
		if edit != nil {
			edit(p)
		}
		u, fields, err := mc.PresignedPostPolicy(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		fields["key"] = "up/${filename}"
		return u.String(), fields
	}
	stored := func(key string) bool {
		_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("forms"), Key: aws.String(key)})
		return err == nil
	}

	data := randBytes(t, 300<<10)
	u, fields := policy(nil)
	resp := postUpload(t, node, u, fields, "a.txt", data, "")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("ETag") != `"`+md5hex(data)+`"` {
		t.Fatalf("POST: %d %v", resp.StatusCode, resp.Header)
	}
	resp.Body.Close()
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("forms"), Key: aws.String("up/a.txt")})
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(back, data) || aws.ToString(got.ContentType) != "text/plain" || got.Metadata["origin"] != "form" {
		t.Fatalf("read back %d bytes, type %q, metadata %v", len(back), aws.ToString(got.ContentType), got.Metadata)
	}

	refusals := []struct {
		name     string
		edit     func(*minio.PostPolicy)
		form     func(map[string]string)
		file     []byte
		status   int
		code, in string
	}{
		{"too large", func(p *minio.PostPolicy) { p.SetContentLengthRange(1, 1000) }, nil, randBytes(t, 1001), 400, "EntityTooLarge", ""},
		{"too small", func(p *minio.PostPolicy) { p.SetContentLengthRange(10, 1000) }, nil, []byte("short"), 400, "EntityTooSmall", ""},
		{"starts-with", nil, func(f map[string]string) { f["key"] = "other/${filename}" }, data, 403, "AccessDenied", `"starts-with", "$key", "up/"`},
		{"expired", func(p *minio.PostPolicy) { p.SetExpires(time.Now().Add(-time.Minute)) }, nil, data, 403, "AccessDenied", "Policy expired"},
		{"bad signature", nil, func(f map[string]string) { f["x-amz-signature"] = strings.Repeat("0", 64) }, data, 403, "SignatureDoesNotMatch", ""},
		{"extra field", nil, func(f map[string]string) { f["x-amz-meta-extra"] = "1" }, data, 403, "AccessDenied", "Extra input fields: x-amz-meta-extra"},
		{"tampered policy", nil, func(f map[string]string) { f["policy"] = f["policy"][:len(f["policy"])-4] + "AAA=" }, data, 403, "SignatureDoesNotMatch", ""},
		{"unsigned", nil, func(f map[string]string) {
			for _, k := range []string{"policy", "x-amz-signature", "x-amz-credential", "x-amz-algorithm", "x-amz-date"} {
				delete(f, k)
			}
		}, data, 403, "AccessDenied", ""},
		{"no key", nil, func(f map[string]string) { delete(f, "key") }, data, 400, "InvalidArgument", ""},
	}
	for _, tc := range refusals {
		u, fields := policy(tc.edit)
		if tc.form != nil {
			tc.form(fields)
		}
		name := strings.ReplaceAll(tc.name, " ", "-")
		resp := postUpload(t, node, u, fields, name, tc.file, "")
		code, msg := errorCode(t, resp)
		if resp.StatusCode != tc.status || code != tc.code || !strings.Contains(msg, tc.in) {
			t.Errorf("%s: %d %s %q, want %d %s %q", tc.name, resp.StatusCode, code, msg, tc.status, tc.code, tc.in)
		}
		if stored("up/"+name) || stored("other/"+name) {
			t.Errorf("%s: refused upload stored", tc.name)
		}
	}

	// 201 with the PostResponse XML.
	u, fields = policy(func(p *minio.PostPolicy) { p.SetSuccessStatusAction("201") })
	resp = postUpload(t, node, u, fields, "created.txt", []byte("made"), "")
	var pr struct{ Location, Bucket, Key, ETag string }
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := xml.Unmarshal(b, &pr); err != nil || resp.StatusCode != http.StatusCreated || pr.Bucket != "forms" || pr.Key != "up/created.txt" ||
		pr.ETag != `"`+md5hex([]byte("made"))+`"` || pr.Location != node.Endpoint()+"/forms/up/created.txt" {
		t.Fatalf("201: %d %s %v", resp.StatusCode, b, err)
	}

	// 303 to success_action_redirect with bucket, key and etag.
	u, fields = policy(func(p *minio.PostPolicy) { p.SetSuccessActionRedirect("https://app.example.com/done?x=1") })
	resp = postUpload(t, node, u, fields, "redir.txt", []byte("redirected"), "")
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther || loc.Host != "app.example.com" || loc.Query().Get("key") != "up/redir.txt" ||
		loc.Query().Get("bucket") != "forms" || loc.Query().Get("x") != "1" || loc.Query().Get("etag") != `"`+md5hex([]byte("redirected"))+`"` {
		t.Fatalf("303: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !stored("up/redir.txt") {
		t.Fatal("redirected upload not stored")
	}
}

// TestPostObjectAccess refuses a form signed by an account that does not
// own the bucket (what its PutObject would get), and gives a
// cross-origin POST the bucket's CORS headers.
func TestPostObjectAccess(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	c := node.S3("", "")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("owned")}); err != nil {
		t.Fatal(err)
	}
	admin, err := client.New(client.Config{Endpoint: node.Endpoint(), AccessKey: node.AccessKey, SecretKey: node.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	k, err := admin.CreateUser(ctx, "mallory")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(mc *minio.Client) (string, map[string]string) {
		p := minio.NewPostPolicy()
		p.SetBucket("owned")
		p.SetKey("k")
		p.SetExpires(time.Now().Add(time.Hour))
		u, fields, err := mc.PresignedPostPolicy(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return u.String(), fields
	}
	u, fields := sign(node.Minio(t, k.AccessKey, k.SecretKey, false))
	resp := postUpload(t, node, u, fields, "f", []byte("x"), "")
	if code, _ := errorCode(t, resp); resp.StatusCode != http.StatusForbidden || code != "AccessDenied" {
		t.Fatalf("another account's POST: %d %s", resp.StatusCode, code)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("owned"), Key: aws.String("k")}); err == nil {
		t.Fatal("another account's POST stored")
	}

	cfg := &types.CORSConfiguration{CORSRules: []types.CORSRule{{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"POST"}, ExposeHeaders: []string{"ETag"}}}}
	if _, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("owned"), CORSConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	if resp := preflight(t, node, "/owned", "https://app.example.com", "POST", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST preflight: %d", resp.StatusCode)
	}
	u, fields = sign(node.Minio(t, "", "", false))
	resp = postUpload(t, node, u, fields, "f", []byte("x"), "https://app.example.com")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		resp.Header.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Fatalf("cross-origin POST: %d %v", resp.StatusCode, resp.Header)
	}
}
