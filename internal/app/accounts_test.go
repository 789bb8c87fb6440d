package app_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// oldAlice is what the first alice leaves behind.
type oldAlice struct {
	bucket, app, service, runID string
}

// TestReusedAccountNameOwnsNothing: alice owns a bucket, a private app, a
// service and a run record; removing her is refused while she owns them;
// removed anyway (leftovers injected by removing the account record
// offline, plus a bucket whose owner is the pre-id name "alice"), a new
// alice owns none of it through S3 (aws-sdk-go-v2), the native API or the
// service face, and root keeps what it had.
func TestReusedAccountNameOwnsNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	node := apptest.Start(t, apptest.Options{DataDir: dir})
	root := apiClient(t, node, node.AccessKey, node.SecretKey)
	old := populateAlice(ctx, t, node, root)

	err := root.DeleteUser(ctx, "alice")
	if !client.IsCode(err, "AccountInUse") || !strings.Contains(err.Error(), "1 bucket(s)") {
		t.Fatalf("removing an account that owns things: %v", err)
	}
	node.Stop()
	injectLeftovers(ctx, t, dir)
	node = apptest.Start(t, apptest.Options{DataDir: dir})
	root = apiClient(t, node, node.AccessKey, node.SecretKey)

	k, err := root.CreateUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	alice := apiClient(t, node, k.AccessKey, k.SecretKey)
	checkS3Denied(ctx, t, node.S3(k.AccessKey, k.SecretKey), old.bucket, "legacy-alice")
	checkAPIDenied(ctx, t, alice, old)
	if code := callService(t, node, k.AccessKey, k.SecretKey, old.service); code != http.StatusForbidden {
		t.Fatalf("new alice calls the old alice's private service: %d", code)
	}

	// Root keeps what it had: its bucket, its objects, its runs, the users.
	rootS3 := node.S3("", "")
	if _, err := rootS3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("root-data"), Key: aws.String("r.txt")}); err != nil {
		t.Fatalf("root reads its own object: %v", err)
	}
	if _, err := root.Run(ctx, client.RunSpec{App: "upper", Stdin: "s3://root-data/r.txt"}, io.Discard, io.Discard); err != nil {
		t.Fatalf("root runs on its own bucket: %v", err)
	}
	users, err := root.ListUsers(ctx)
	if err != nil || len(users) != 2 {
		t.Fatalf("root lists users: %+v %v", users, err)
	}
}

// populateAlice creates alice and everything she owns.
func populateAlice(ctx context.Context, t *testing.T, node *apptest.Node, root *client.Client) oldAlice {
	t.Helper()
	rootS3 := node.S3("", "")
	mustS3(t, "root bucket", func() error {
		_, err := rootS3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("root-data")})
		return err
	})
	mustS3(t, "root object", func() error {
		_, err := rootS3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("root-data"), Key: aws.String("r.txt"), Body: strings.NewReader("root")})
		return err
	})
	if _, err := root.PushApp(ctx, "upper", "1", exampleWasm(t, "upper"), nil, true); err != nil {
		t.Fatal(err)
	}
	k, err := root.CreateUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	s3c := node.S3(k.AccessKey, k.SecretKey)
	alice := apiClient(t, node, k.AccessKey, k.SecretKey)
	old := oldAlice{bucket: "alice-data", app: "secret", service: "alice-svc"}
	mustS3(t, "alice bucket", func() error {
		_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(old.bucket)})
		return err
	})
	mustS3(t, "alice object", func() error {
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(old.bucket), Key: aws.String("a.txt"), Body: strings.NewReader("alice's")})
		return err
	})
	if _, err := alice.PushApp(ctx, old.app, "1", exampleWasm(t, "upper"), nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CreateService(ctx, old.service, client.ServiceSpec{App: old.app}); err != nil {
		t.Fatal(err)
	}
	rec, err := alice.Run(ctx, client.RunSpec{App: old.app, Stdin: "s3://" + old.bucket + "/a.txt"}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	old.runID = rec.ID
	return old
}

// injectLeftovers removes alice's account record behind the API's back
// (as if her things slipped past the check) and adds a bucket owned by the
// name "alice", as data written before accounts had ids holds.
func injectLeftovers(ctx context.Context, t *testing.T, dir string) {
	t.Helper()
	kv, err := meta.OpenLocal(filepath.Join(dir, "control"))
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.NewAccounts(kv).Remove(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	if err := kv.Close(); err != nil {
		t.Fatal(err)
	}
	eng, err := local.Open(ctx, filepath.Join(dir, "store"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.CreateBucket(ctx, store.BucketInfo{Name: "legacy-alice", Owner: "alice", Region: "us-east-1", Created: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
}

func mustS3(t *testing.T, what string, fn func() error) {
	t.Helper()
	if err := fn(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// checkS3Denied: the new alice lists none of the buckets and cannot read,
// write or delete in them.
func checkS3Denied(ctx context.Context, t *testing.T, s3c *s3.Client, buckets ...string) {
	t.Helper()
	out, err := s3c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(out.Buckets) != 0 {
		t.Fatalf("new alice lists buckets %+v %v, want none", out, err)
	}
	for _, b := range buckets {
		ops := map[string]func() error{
			"HeadBucket": func() error { _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)}); return err },
			"ListObjectsV2": func() error {
				_, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
				return err
			},
			"GetObject": func() error {
				_, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("a.txt")})
				return err
			},
			"PutObject": func() error {
				_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("x"), Body: bytes.NewReader(nil)})
				return err
			},
			"DeleteObject": func() error {
				_, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("a.txt")})
				return err
			},
			"DeleteBucket": func() error {
				_, err := s3c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
				return err
			},
		}
		for name, op := range ops {
			var re interface{ HTTPStatusCode() int }
			if err := op(); !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
				t.Errorf("%s %s by the new alice: %v, want 403", name, b, err)
			}
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() != "AccessDenied" && name != "HeadBucket" {
				t.Errorf("%s %s: code %s, want AccessDenied", name, b, ae.ErrorCode())
			}
		}
	}
}

// checkAPIDenied: through the native API the new alice sees none of the
// old alice's apps, services or runs, and cannot run on her bucket.
func checkAPIDenied(ctx context.Context, t *testing.T, alice *client.Client, old oldAlice) {
	t.Helper()
	if list, err := alice.ListApps(ctx, false); err != nil || len(list) != 0 {
		t.Errorf("apps: %+v %v, want none", list, err)
	}
	for _, owner := range []string{"", "alice"} {
		if _, err := alice.GetApp(ctx, owner, old.app, ""); !client.IsCode(err, "NoSuchApp") {
			t.Errorf("GetApp(%q, %s): %v, want NoSuchApp", owner, old.app, err)
		}
	}
	if _, err := alice.Run(ctx, client.RunSpec{App: old.app}, io.Discard, io.Discard); !client.IsCode(err, "NoSuchApp") {
		t.Errorf("run the old app: %v, want NoSuchApp", err)
	}
	if err := alice.RemoveApp(ctx, old.app, ""); !client.IsCode(err, "NoSuchApp") {
		t.Errorf("remove the old app: %v, want NoSuchApp", err)
	}
	if list, err := alice.ListServices(ctx); err != nil || len(list) != 0 {
		t.Errorf("services: %+v %v, want none", list, err)
	}
	if _, err := alice.GetService(ctx, old.service); !client.IsCode(err, "NoSuchService") {
		t.Errorf("GetService: %v", err)
	}
	if _, err := alice.UpdateService(ctx, old.service, client.ServiceSpec{App: "upper"}); !client.IsCode(err, "NoSuchService") {
		t.Errorf("UpdateService: %v", err)
	}
	if err := alice.RemoveService(ctx, old.service); !client.IsCode(err, "NoSuchService") {
		t.Errorf("RemoveService: %v", err)
	}
	if list, err := alice.ListRuns(ctx, 100); err != nil || len(list) != 0 {
		t.Errorf("runs: %+v %v, want none", list, err)
	}
	if _, err := alice.GetRun(ctx, old.runID); !client.IsCode(err, "NoSuchRun") {
		t.Errorf("GetRun: %v", err)
	}
	for _, b := range []string{old.bucket, "legacy-alice"} {
		spec := client.RunSpec{App: "upper", Stdin: "s3://" + b + "/a.txt"}
		if _, err := alice.Run(ctx, spec, io.Discard, io.Discard); !client.IsCode(err, "AccessDenied") {
			t.Errorf("run on %s: %v, want AccessDenied", b, err)
		}
	}
}

// callService sends a SigV4-signed GET to /svc/NAME/ and returns the status.
func callService(t *testing.T, node *apptest.Node, ak, sk, name string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, node.Endpoint()+"/svc/"+name+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	ph := sha256hex(nil)
	req.Header.Set("x-amz-content-sha256", ph)
	signer := v4.NewSigner()
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk},
		req, ph, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := node.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRunRefusedWhenCapsUnreadable: when the account's caps cannot be read
// the run is refused with a 500, never run with the node's default caps.
func TestRunRefusedWhenCapsUnreadable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	node := apptest.Start(t, apptest.Options{DataDir: dir})
	root := apiClient(t, node, node.AccessKey, node.SecretKey)
	if _, err := root.PushApp(ctx, "upper", "1", exampleWasm(t, "upper"), nil, true); err != nil {
		t.Fatal(err)
	}
	k, err := root.CreateUser(ctx, "dave")
	if err != nil {
		t.Fatal(err)
	}
	if err := root.SetCaps(ctx, "dave", map[string]string{"memory": "1MiB"}); err != nil {
		t.Fatal(err)
	}
	users, err := root.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, u := range users {
		if u.Name == "dave" {
			id = u.ID
		}
	}
	node.Stop()
	// Break the id -> account index: keys still verify, caps cannot be read.
	kv, err := meta.OpenLocal(filepath.Join(dir, "control"))
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Put(ctx, "accountids/"+id, []byte("ghost")); err != nil {
		t.Fatal(err)
	}
	kv.Close()
	node = apptest.Start(t, apptest.Options{DataDir: dir})
	dave := apiClient(t, node, k.AccessKey, k.SecretKey)
	_, err = dave.Run(ctx, client.RunSpec{App: "root/upper", StdinData: "x"}, io.Discard, io.Discard)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.StatusCode != http.StatusInternalServerError {
		t.Fatalf("run with unreadable caps: %v, want a 500", err)
	}
}
