package s3api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/s3api"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// fullDisk is a real engine whose object writes fail the way a full
// filesystem makes them fail (ENOSPC from write(2), wrapped as the local
// backend wraps it).
type fullDisk struct {
	store.Engine
	puts atomic.Int32
}

func (f *fullDisk) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, opts store.PutOptions) (store.ObjectInfo, error) {
	f.puts.Add(1)
	_, _ = io.Copy(io.Discard, r)
	return store.ObjectInfo{}, fmt.Errorf("local: write data: %w", &os.PathError{Op: "write", Path: "objects/ab/tmp", Err: syscall.ENOSPC})
}

type oneKey struct{ ak, secret string }

func (k oneKey) Lookup(_ context.Context, ak string) (sigv4.Credential, error) {
	if ak != k.ak {
		return sigv4.Credential{}, sigv4.ErrUnknownKey
	}
	return sigv4.Credential{AccessKey: ak, Secret: k.secret, Account: "root", AccountID: "root"}, nil
}

// TestDiskFullIsNotRetryable pins issue 8 item 7: ENOSPC answers 507
// InsufficientStorage, which SDKs do not retry, instead of a 500 they retry.
func TestDiskFullIsNotRetryable(t *testing.T) {
	ctx := context.Background()
	engine, err := local.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	full := &fullDisk{Engine: engine}
	h := s3api.New(s3api.Config{Engine: full, Verifier: &sigv4.Verifier{Keys: oneKey{"AKFULL", "secret"}}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKFULL", "secret", "")})
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("full")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("full"), Key: aws.String("k"), Body: strings.NewReader("data")})
	wantCode(t, err, "InsufficientStorage")
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusInsufficientStorage {
		t.Fatalf("status: %v", err)
	}
	if n := full.puts.Load(); n != 1 {
		t.Fatalf("the SDK sent the PUT %d times; a full disk must not invite retries", n)
	}
}

// TestWriteValidation pins issue 8 item 7: keys that are not UTF-8 are
// refused on every write path, and NUL in x-insitu-args is refused before
// any run.
func TestWriteValidation(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := node.S3("", "")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("val")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("val"), Key: aws.String("src"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	bad := "a\xffb"
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("val"), Key: aws.String(bad), Body: strings.NewReader("x")})
	wantCode(t, err, "InvalidArgument")
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("val"), Key: aws.String(bad), CopySource: aws.String("val/src")})
	wantCode(t, err, "InvalidArgument")
	_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("val"), Key: aws.String(bad)})
	wantCode(t, err, "InvalidArgument")
	for name, path := range map[string]string{
		"run on write":        "/val/a%FFb?x-insitu-run=cat",
		"run on write out":    "/val/ok?x-insitu-run=cat&x-insitu-out=o%FF/",
		"NUL in args (write)": "/val/ok?x-insitu-run=cat&x-insitu-args=a%00b",
	} {
		req := signedRequest(t, node, http.MethodPost, path, []byte("in"), node.AccessKey, node.SecretKey, time.Now())
		if st, code := s3Error(t, node.HTTPClient(), req); st != 400 || code != "InvalidArgument" {
			t.Errorf("%s: got %d %s, want 400 InvalidArgument", name, st, code)
		}
	}
	req := signedRequest(t, node, http.MethodGet, "/val/src?x-insitu-run=cat&x-insitu-args=a%00b", nil, node.AccessKey, node.SecretKey, time.Now())
	if st, code := s3Error(t, node.HTTPClient(), req); st != 400 || code != "InvalidArgument" {
		t.Errorf("NUL in args (transform): got %d %s, want 400 InvalidArgument", st, code)
	}
	l, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("val")})
	if err != nil || len(l.Contents) != 1 {
		t.Fatalf("refused writes stored objects: %v %v", l, err)
	}
}
