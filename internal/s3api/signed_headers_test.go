package s3api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// sendWith sends req with extra headers added after signing and returns
// the status and the S3 error code.
func sendWith(t *testing.T, node *apptest.Node, req *http.Request, extra map[string]string) (int, string) {
	t.Helper()
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	return s3Error(t, node.HTTPClient(), req)
}

// presignedRequest builds a request from a presigned URL and its signed
// headers.
func presignedRequest(t *testing.T, method, url string, signed http.Header, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range signed {
		req.Header[k] = v
	}
	return req
}

// objectBody returns the bytes of bucket/key.
func objectBody(t *testing.T, c *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return string(b)
}

// TestUnsignedHeadersRefused pins issue 8 item 1: x-amz-* headers added to
// a signed request without being signed must not change what it does.
func TestUnsignedHeadersRefused(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := node.S3("", "")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"private/payroll.csv": "salaries", "uploads/avatar.png": "old avatar"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(k), Body: strings.NewReader(v)}); err != nil {
			t.Fatal(err)
		}
	}
	ps := s3.NewPresignClient(c)
	put, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("uploads/avatar.png")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	copySrc := map[string]string{"x-amz-copy-source": "/bkt/private/payroll.csv"}
	t.Run("presigned put turned copy", func(t *testing.T) {
		st, code := sendWith(t, node, presignedRequest(t, http.MethodPut, put.URL, put.SignedHeader, nil), copySrc)
		if st != 403 || code != "AccessDenied" {
			t.Fatalf("got %d %s, want 403 AccessDenied", st, code)
		}
		if got := objectBody(t, c, "bkt", "uploads/avatar.png"); got != "old avatar" {
			t.Fatalf("upload key now holds %q", got)
		}
	})
	t.Run("presigned put with unsigned metadata", func(t *testing.T) {
		req := presignedRequest(t, http.MethodPut, put.URL, put.SignedHeader, []byte("new"))
		if st, code := sendWith(t, node, req, map[string]string{"x-amz-meta-evil": "1"}); st != 403 || code != "AccessDenied" {
			t.Fatalf("got %d %s, want 403 AccessDenied", st, code)
		}
	})
	t.Run("presigned upload part turned copy", func(t *testing.T) {
		mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("uploads/big")})
		if err != nil {
			t.Fatal(err)
		}
		part, err := ps.PresignUploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("uploads/big"), UploadId: mp.UploadId, PartNumber: aws.Int32(1)}, s3.WithPresignExpires(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if st, code := sendWith(t, node, presignedRequest(t, http.MethodPut, part.URL, part.SignedHeader, nil), copySrc); st != 403 || code != "AccessDenied" {
			t.Fatalf("got %d %s, want 403 AccessDenied", st, code)
		}
	})
	t.Run("header auth with unsigned metadata", func(t *testing.T) {
		req := signedRequest(t, node, http.MethodPut, "/bkt/uploads/x", []byte("x"), node.AccessKey, node.SecretKey, time.Now())
		if st, code := sendWith(t, node, req, map[string]string{"x-amz-meta-evil": "1"}); st != 403 || code != "AccessDenied" {
			t.Fatalf("got %d %s, want 403 AccessDenied", st, code)
		}
	})
}

// TestCredentialScope pins issue 8 item 1: the scope must name service
// "s3" and the node's region.
func TestCredentialScope(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	for _, tc := range []struct{ service, region, code string }{
		{"s3", "us-east-1", ""},
		{"s3", "eu-west-3", "AuthorizationHeaderMalformed"},
		{"ec2", "us-east-1", "AuthorizationHeaderMalformed"},
	} {
		req, _ := http.NewRequest(http.MethodGet, node.Endpoint()+"/", nil)
		req.Header.Set("x-amz-content-sha256", emptySHA)
		signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: node.AccessKey, SecretAccessKey: node.SecretKey},
			req, emptySHA, tc.service, tc.region, time.Now()); err != nil {
			t.Fatal(err)
		}
		st, code := s3Error(t, node.HTTPClient(), req)
		if code != tc.code || (tc.code == "" && st != 200) || (tc.code != "" && st != 400) {
			t.Errorf("%s/%s: got %d %q, want %q", tc.service, tc.region, st, code, tc.code)
		}
	}
}

const emptySHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
