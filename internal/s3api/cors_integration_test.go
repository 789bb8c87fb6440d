package s3api_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// TestBucketCors puts, reads and deletes a CORS configuration through
// aws-sdk-go-v2, with the error codes S3 answers: a bucket without one,
// malformed and invalid configurations, and another account's bucket.
func TestBucketCors(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	c := node.S3("", "")
	b := aws.String("corsb")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b})
	wantCode(t, err, "NoSuchCORSConfiguration")
	cfg := &types.CORSConfiguration{CORSRules: []types.CORSRule{
		{ID: aws.String("web"), AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"GET", "PUT"},
			AllowedHeaders: []string{"x-amz-*", "Content-Type"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(600)},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"HEAD"}},
	}}
	if _, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.CORSRules) != 2 || aws.ToString(got.CORSRules[0].ID) != "web" || aws.ToInt32(got.CORSRules[0].MaxAgeSeconds) != 600 ||
		strings.Join(got.CORSRules[0].AllowedHeaders, ",") != "x-amz-*,content-type" || got.CORSRules[1].AllowedOrigins[0] != "*" {
		t.Fatalf("GetBucketCors = %+v", got.CORSRules)
	}
	for _, bad := range []struct {
		rule types.CORSRule
		code string
	}{
		{types.CORSRule{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PATCH"}}, "InvalidRequest"},
		{types.CORSRule{AllowedOrigins: []string{"https://*.*.com"}, AllowedMethods: []string{"GET"}}, "InvalidRequest"},
		{types.CORSRule{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, AllowedHeaders: []string{"*-*"}}, "InvalidRequest"},
	} {
		_, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{bad.rule}}})
		wantCode(t, err, bad.code)
	}
	for _, body := range []string{
		"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>",
		"<CORSConfiguration></CORSConfiguration>",
		"<CORSConfiguration><CORSRule>",
	} {
		req := signedRequest(t, node, http.MethodPut, "/corsb?cors", []byte(body), node.AccessKey, node.SecretKey, time.Now())
		if st, code := s3Error(t, node.HTTPClient(), req); st != http.StatusBadRequest || code != "MalformedXML" {
			t.Fatalf("PutBucketCors %q: %d %s", body, st, code)
		}
	}
	many := make([]types.CORSRule, 101)
	for i := range many {
		many[i] = types.CORSRule{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}
	}
	_, err = c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: &types.CORSConfiguration{CORSRules: many}})
	wantCode(t, err, "MalformedXML")

	admin, err := client.New(client.Config{Endpoint: node.Endpoint(), AccessKey: node.AccessKey, SecretKey: node.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	k, err := admin.CreateUser(ctx, "mallory")
	if err != nil {
		t.Fatal(err)
	}
	m := node.S3(k.AccessKey, k.SecretKey)
	_, err = m.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b})
	wantCode(t, err, "AccessDenied")
	_, err = m.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: cfg})
	wantCode(t, err, "AccessDenied")
	_, err = m.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: b})
	wantCode(t, err, "AccessDenied")

	if _, err := c.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b})
	wantCode(t, err, "NoSuchCORSConfiguration")

	// A deleted bucket takes its configuration with it.
	if _, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b})
	wantCode(t, err, "NoSuchCORSConfiguration")
}

// preflight sends an unsigned OPTIONS request.
func preflight(t *testing.T, node *apptest.Node, path, origin, method, headers string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, node.Endpoint()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("Access-Control-Request-Method", method)
	if headers != "" {
		req.Header.Set("Access-Control-Request-Headers", headers)
	}
	resp, err := node.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestCORSPreflight answers OPTIONS without authentication from the first
// matching rule, and refuses what no rule allows; an actual presigned GET
// carrying Origin gets the rule's headers, on success and on error.
func TestCORSPreflight(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	c := node.S3("", "")
	b := aws.String("pre")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if resp := preflight(t, node, "/pre/k", "https://app.example.com", "GET", ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("preflight without a configuration: %d", resp.StatusCode)
	}
	cfg := &types.CORSConfiguration{CORSRules: []types.CORSRule{
		{AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"GET", "PUT"},
			AllowedHeaders: []string{"x-amz-*", "content-type"}, ExposeHeaders: []string{"ETag", "x-amz-request-id"}, MaxAgeSeconds: aws.Int32(600)},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"HEAD"}},
	}}
	if _, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	resp := preflight(t, node, "/pre/some/key", "https://app.example.com", "PUT", "Content-Type, X-Amz-Date")
	h := resp.Header
	if resp.StatusCode != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		h.Get("Access-Control-Allow-Methods") != "GET, PUT" || h.Get("Access-Control-Allow-Headers") != "content-type, x-amz-date" ||
		h.Get("Access-Control-Max-Age") != "600" || h.Get("Access-Control-Expose-Headers") != "ETag, x-amz-request-id" ||
		!strings.Contains(h.Get("Vary"), "Origin") {
		t.Fatalf("allowed preflight: %d %v", resp.StatusCode, h)
	}
	resp = preflight(t, node, "/pre", "http://anything.test", "HEAD", "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("wildcard origin: %d %v", resp.StatusCode, resp.Header)
	}
	for _, refused := range []struct{ origin, method, headers string }{
		{"https://evil.test", "GET", ""},                    // origin
		{"https://app.example.com", "DELETE", ""},           // method
		{"https://app.example.com", "PUT", "authorization"}, // header
		{"https://example.com", "GET", ""},                  // the wildcard needs a subdomain
	} {
		if resp := preflight(t, node, "/pre/k", refused.origin, refused.method, refused.headers); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("preflight %+v: %d %v", refused, resp.StatusCode, resp.Header)
		}
	}
	if resp := preflight(t, node, "/pre/k", "", "GET", ""); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("preflight without Origin: %d", resp.StatusCode)
	}

	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: bytes.NewReader([]byte("hi"))}); err != nil {
		t.Fatal(err)
	}
	ps := s3.NewPresignClient(c)
	for _, key := range []string{"k", "missing"} {
		u, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		for _, origin := range []string{"https://app.example.com", "https://evil.test"} {
			req, _ := http.NewRequest(http.MethodGet, u.URL, nil)
			req.Header.Set("Origin", origin)
			resp, err := node.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want := ""
			if origin == "https://app.example.com" {
				want = origin
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
				t.Fatalf("GET %s from %s: %d, Access-Control-Allow-Origin %q, want %q", key, origin, resp.StatusCode, got, want)
			}
			if want != "" && resp.Header.Get("Access-Control-Expose-Headers") != "ETag, x-amz-request-id" {
				t.Fatalf("GET %s: expose headers %v", key, resp.Header)
			}
		}
	}
}
