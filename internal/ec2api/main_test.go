package ec2api_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// TestMain lets this test binary double as the sandbox worker of the nodes
// its tests start.
func TestMain(m *testing.M) { apptest.Main(m) }

// ec2Client is aws-sdk-go-v2's EC2 client pointed at the node's
// /services/compute with the given keys (empty: root), retries off.
func ec2Client(n *apptest.Node, accessKey, secret string) *ec2.Client {
	if accessKey == "" {
		accessKey, secret = n.AccessKey, n.SecretKey
	}
	return ec2.New(ec2.Options{
		BaseEndpoint: aws.String(n.Endpoint() + "/services/compute"),
		Region:       n.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secret, ""),
		HTTPClient:   n.HTTPClient(),
		Retryer:      apptest.ConnRetryer(),
	})
}

// newAccount creates an account through the native API and returns its
// EC2 client.
func newAccount(ctx context.Context, t *testing.T, n *apptest.Node, name string) *ec2.Client {
	t.Helper()
	admin, err := client.New(client.Config{Endpoint: n.Endpoint(), AccessKey: n.AccessKey, SecretKey: n.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	k, err := admin.CreateUser(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return ec2Client(n, k.AccessKey, k.SecretKey)
}

// wantCode fails unless err is an API error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("want error %s, got %v", code, err)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
