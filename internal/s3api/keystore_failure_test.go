package s3api_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/api"
	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/s3api"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// flakyKV fails reads of account records while broken is set, the way a
// control store that lost its disk or its etcd quorum does.
type flakyKV struct {
	meta.Store
	broken atomic.Bool
}

var errStoreDown = errors.New("control store unavailable")

func (f *flakyKV) Get(ctx context.Context, key string) ([]byte, error) {
	if f.broken.Load() && strings.HasPrefix(key, "accounts/") {
		return nil, errStoreDown
	}
	return f.Store.Get(ctx, key)
}

// TestKeyStoreFailureIs500 pins issue 8 item 13: when the account store
// fails (rather than not knowing the key) the S3 face answers 500
// InternalError, not a 403 that tells the client its key is wrong.
func TestKeyStoreFailureIs500(t *testing.T) {
	ctx := context.Background()
	kv, err := meta.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	engine, err := local.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	flaky := &flakyKV{Store: kv}
	accounts := auth.NewAccounts(flaky)
	root, _, err := accounts.EnsureRoot(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	h := s3api.New(s3api.Config{Engine: engine, Verifier: &sigv4.Verifier{Keys: accounts}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(root.AccessKey, root.Secret, ""), RetryMaxAttempts: 1})
	if _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("healthy store: %v", err)
	}
	flaky.broken.Store(true)
	_, err = c.ListBuckets(ctx, &s3.ListBucketsInput{})
	wantCode(t, err, "InternalError")
	var re *http.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Fatalf("status: %v", err)
	}

	// The native API answers the same way.
	apiSrv := httptest.NewServer(api.New(api.Deps{Verifier: &sigv4.Verifier{Keys: accounts}, Accounts: accounts}))
	t.Cleanup(apiSrv.Close)
	nc, err := client.New(client.Config{Endpoint: apiSrv.URL, AccessKey: root.AccessKey, SecretKey: root.Secret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = nc.WhoAmI(ctx)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.StatusCode != 500 || ce.Code != "InternalError" {
		t.Fatalf("native API with a failing store: %v", err)
	}
}
