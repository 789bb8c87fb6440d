package instances_test

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/instances"
)

// TestMain lets this test binary double as the sandbox worker of the
// nodes its tests start.
func TestMain(m *testing.M) { apptest.Main(m) }

// testImage is the public image FakeImages knows.
const testImage = "ami-0123456789abcdef0"

// env is a node whose instances run on a fake hypervisor, and its root
// EC2 client.
type env struct {
	node *apptest.Node
	hv   *instances.FakeHypervisor
	ec2  *ec2.Client
}

// start runs a node on dataDir ("" for a new one) with hv as hypervisor.
func start(t *testing.T, dataDir string, hv *instances.FakeHypervisor, memMiB int) *env {
	t.Helper()
	n := apptest.Start(t, apptest.Options{DataDir: dataDir, Configure: func(c *app.Config) {
		c.Instances.Hypervisor = hv
		c.Instances.Images = instances.FakeImages{Images: map[string]string{testImage: ""}}
		c.Instances.MemoryMiB = memMiB
	}})
	return &env{node: n, hv: hv, ec2: ec2Client(n, n.AccessKey, n.SecretKey)}
}

func ec2Client(n *apptest.Node, accessKey, secret string) *ec2.Client {
	return ec2.New(ec2.Options{
		BaseEndpoint: aws.String(n.Endpoint() + "/services/compute"),
		Region:       n.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secret, ""),
		HTTPClient:   n.HTTPClient(),
		Retryer:      apptest.ConnRetryer(),
	})
}

// account creates an account and returns its EC2 client.
func (e *env) account(ctx context.Context, t *testing.T, name string) *ec2.Client {
	t.Helper()
	admin, err := client.New(client.Config{Endpoint: e.node.Endpoint(), AccessKey: e.node.AccessKey, SecretKey: e.node.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	k, err := admin.CreateUser(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return ec2Client(e.node, k.AccessKey, k.SecretKey)
}

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

// describe returns the caller's instances matching filters, flattened.
func describe(ctx context.Context, t *testing.T, c *ec2.Client, in *ec2.DescribeInstancesInput) []types.Instance {
	t.Helper()
	out := must[*ec2.DescribeInstancesOutput](t)(c.DescribeInstances(ctx, in))
	var all []types.Instance
	for _, r := range out.Reservations {
		all = append(all, r.Instances...)
	}
	return all
}

// waitState polls until instance id is in state (10 s at most).
func waitState(ctx context.Context, t *testing.T, c *ec2.Client, id string, state types.InstanceStateName) types.Instance {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := describe(ctx, t, c, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if len(got) == 1 && got[0].State.Name == state {
			return got[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: want %s, have %+v", id, state, got[0].State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func b64(s string) *string { return aws.String(base64.StdEncoding.EncodeToString([]byte(s))) }
