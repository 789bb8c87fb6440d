package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestOpsEndpoints(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	hc := node.HTTPClient()
	if resp, body := get(t, hc, node.Endpoint()+"/healthz"); resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(t, hc, node.Endpoint()+"/readyz"); resp.StatusCode != 200 {
		t.Fatalf("readyz: %d", resp.StatusCode)
	}
	ctx := context.Background()
	c := node.S3("", "")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("m")}); err == nil {
		t.Fatal("3-letter minimum not enforced")
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("metered")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("metered"), Key: aws.String("k"), Body: strings.NewReader("12345")}); err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, hc, node.Endpoint()+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`insitu_http_requests_total{api="s3",code="200",op="PutObject"} 1`,
		`insitu_http_requests_total{api="s3",code="200",op="CreateBucket"} 1`,
		`insitu_http_request_duration_seconds_bucket{api="s3",op="PutObject"`,
		`insitu_http_received_bytes_total{api="s3"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Every response carries a request id; S3 errors echo it in the body.
	resp, body = get(t, hc, node.Endpoint()+"/metered/k")
	id := resp.Header.Get("x-amz-request-id")
	if id == "" || !strings.Contains(body, "<RequestId>"+id+"</RequestId>") || resp.StatusCode != 403 {
		t.Fatalf("anonymous GET: %d id %q body %s", resp.StatusCode, id, body)
	}
}

func TestGeneratedRootCredentials(t *testing.T) {
	dir := t.TempDir()
	node := apptest.Start(t, apptest.Options{DataDir: dir})
	path := filepath.Join(dir, "root-credentials.json")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials mode %v, want 0600", st.Mode().Perm())
	}
	var creds struct {
		AccessKey string `json:"access_key"`
		SecretKey string `json:"secret_key"`
	}
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &creds); err != nil || creds.AccessKey != node.AccessKey || creds.SecretKey != node.SecretKey {
		t.Fatalf("credentials file %s: %v", b, err)
	}
	if _, err := node.S3(creds.AccessKey, creds.SecretKey).ListBuckets(context.Background(), &s3.ListBucketsInput{}); err != nil {
		t.Fatal(err)
	}
	node.Stop()
	again := apptest.Start(t, apptest.Options{DataDir: dir})
	if again.AccessKey != creds.AccessKey {
		t.Fatalf("restart changed the root key: %s -> %s", creds.AccessKey, again.AccessKey)
	}
}
