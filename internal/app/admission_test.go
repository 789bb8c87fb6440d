package app_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// toolWasm is the sandbox's test tool (sleep, exit N, ...).
func toolWasm(t *testing.T) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "sandbox", "testdata", "tool.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// user creates an account and returns its native and S3 clients.
func user(t *testing.T, node *apptest.Node, root *client.Client, name string) (*client.Client, *s3.Client) {
	t.Helper()
	k, err := root.CreateUser(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return apiClient(t, node, k.AccessKey, k.SecretKey), node.S3(k.AccessKey, k.SecretKey)
}

func putText(t *testing.T, c *s3.Client, bucket, key, body string) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

// openObjectFiles counts this process's open descriptors on object data
// files of the node.
func openObjectFiles(t *testing.T, dataDir string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && strings.HasPrefix(target, dataDir) && strings.Contains(target, "/objects/") {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitRecord(t *testing.T, c *client.Client, id string) *client.RunRecord {
	t.Helper()
	var rec *client.RunRecord
	waitFor(t, "record "+id, func() bool {
		r, err := c.GetRun(context.Background(), id)
		rec = r
		return err == nil
	})
	return rec
}

// One account saturating the node (both workers busy, its queue full)
// delays another account's run by at most one of its runs; the other
// account's timeout counts from when its run starts, not while it waits;
// queued runs hold no input open; a queued run whose input vanished still
// leaves a record.
func TestAdmissionFairness(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{Configure: func(c *app.Config) { c.QueuedPerAccount = 4 }})
	root := apiClient(t, node, node.AccessKey, node.SecretKey)
	if _, err := root.PushApp(ctx, "tool", "1", toolWasm(t), nil, true); err != nil {
		t.Fatal(err)
	}
	alice, aliceS3 := user(t, node, root, "alice")
	bob, _ := user(t, node, root, "bob")
	if _, err := aliceS3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("alice-data")}); err != nil {
		t.Fatal(err)
	}
	putText(t, aliceS3, "alice-data", "in.txt", "input")
	putText(t, aliceS3, "alice-data", "doomed.txt", "input")

	// alice: her two executing runs sleep to deadlines of 8 s and 9 s, her
	// queued ones to 1 s. (Generous: a loaded machine is slow to start the
	// fresh worker that replaces a killed one.)
	sleeper := func(timeout, input string) client.RunSpec {
		return client.RunSpec{App: "tool", Args: []string{"sleep"}, Limits: map[string]string{"timeout": timeout},
			Inputs: []client.RunInput{{Object: "s3://alice-data/" + input}}}
	}
	var ids []string
	for i := range 6 {
		spec := sleeper("1s", "in.txt")
		switch i {
		case 0:
			spec = sleeper("8s", "in.txt")
		case 1:
			spec = sleeper("9s", "in.txt")
		case 5:
			spec = sleeper("1s", "doomed.txt")
		}
		id, err := alice.StartRun(ctx, spec)
		if err != nil {
			t.Fatalf("alice run %d: %v", i, err)
		}
		ids = append(ids, id)
	}
	if running, waiting := node.RunLoad(); running != 2 || waiting != 4 {
		t.Fatalf("load %d running %d waiting, want 2 and 4", running, waiting)
	}
	if _, err := alice.StartRun(ctx, sleeper("2s", "in.txt")); !client.IsCode(err, "SlowDown") {
		t.Fatalf("a run past alice's queue share: %v, want SlowDown", err)
	}
	if n := openObjectFiles(t, node.DataDir); n > 2 {
		t.Fatalf("%d object files open with 2 runs executing: queued runs hold their inputs", n)
	}
	if _, err := aliceS3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("alice-data"), Key: aws.String("doomed.txt")}); err != nil {
		t.Fatal(err)
	}

	// bob waits about 8 s for a worker; his 6 s timeout is his own.
	rec, err := bob.Run(ctx, client.RunSpec{App: "tool", Args: []string{"exit", "0"}, Limits: map[string]string{"timeout": "6s"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != "exited" || rec.ExitCode != 0 || rec.QueuedMS <= 0 {
		t.Fatalf("bob's run behind alice's: %+v", rec)
	}
	if rec.Account != "bob" || rec.App != "root/tool:1" {
		t.Fatalf("the record names account %q and app %q, want bob and root/tool:1 (names, not ids)", rec.Account, rec.App)
	}
	for i, id := range ids {
		r := waitRecord(t, alice, id)
		if i >= 2 && !r.Start.After(rec.Start) {
			t.Errorf("alice's queued run %d started at %v, before bob's at %v: bob waited for more than one run", i, r.Start, rec.Start)
		}
		if i == 5 && (r.Status != "error" || !strings.Contains(r.Error, "could not start")) {
			t.Errorf("the run whose input vanished while queued: %+v", r)
		}
		if i < 5 && r.Status != "timeout" {
			t.Errorf("alice's sleeper %d: %+v", i, r)
		}
	}
}

// A detached run belongs to the node: shutdown drains it (cancelling it at
// the drain timeout) and its record is written before the stores close.
func TestDetachedRunsDrainedAtShutdown(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	short := func(c *app.Config) { c.ShutdownTimeout = 500 * time.Millisecond }
	node := apptest.Start(t, apptest.Options{DataDir: dir, Configure: short})
	root := apiClient(t, node, node.AccessKey, node.SecretKey)
	if _, err := root.PushApp(ctx, "tool", "1", toolWasm(t), nil, false); err != nil {
		t.Fatal(err)
	}
	id, err := root.StartRun(ctx, client.RunSpec{App: "tool", Args: []string{"sleep"}, Limits: map[string]string{"timeout": "1m"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the run to start", func() bool { r, _ := node.RunLoad(); return r == 1 })
	node.Stop()

	node = apptest.Start(t, apptest.Options{DataDir: dir, Configure: short})
	rec, err := apiClient(t, node, node.AccessKey, node.SecretKey).GetRun(ctx, id)
	if err != nil {
		t.Fatalf("the detached run left no record across shutdown: %v", err)
	}
	if rec.Status != "killed" || !strings.Contains(rec.Error, "shutting down") {
		t.Fatalf("record of a run cut by shutdown: %+v", rec)
	}
}

// An account's jobs are bounded too: past 16 queued or running, a submit
// answers SlowDown, and another account is not affected.
func TestJobsBoundedPerAccount(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	root := apiClient(t, node, node.AccessKey, node.SecretKey)
	if _, err := root.PushApp(ctx, "tool", "1", toolWasm(t), nil, true); err != nil {
		t.Fatal(err)
	}
	alice, aliceS3 := user(t, node, root, "alice")
	bob, bobS3 := user(t, node, root, "bob")
	for _, c := range []struct {
		s3     *s3.Client
		bucket string
	}{{aliceS3, "alice-jobs"}, {bobS3, "bob-jobs"}} {
		if _, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(c.bucket)}); err != nil {
			t.Fatal(err)
		}
		putText(t, c.s3, c.bucket, "in.txt", "x")
	}
	sleepy := func(bucket string) client.JobSpec {
		return client.JobSpec{Inputs: []string{"s3://" + bucket + "/in.txt"}, Phases: []client.JobPhase{
			{Type: "map", App: "tool", Args: []string{"sleep"}, Limits: map[string]any{"timeout": "1m"}}}}
	}
	var ids []string
	for i := range 16 {
		j, err := alice.SubmitJob(ctx, sleepy("alice-jobs"))
		if err != nil {
			t.Fatalf("alice's job %d: %v", i, err)
		}
		ids = append(ids, j.ID)
	}
	if _, err := alice.SubmitJob(ctx, sleepy("alice-jobs")); !client.IsCode(err, "SlowDown") {
		t.Fatalf("alice's 17th job: %v, want SlowDown", err)
	}
	j, err := bob.SubmitJob(ctx, sleepy("bob-jobs"))
	if err != nil {
		t.Fatalf("bob's job beside alice's 16: %v", err)
	}
	for _, id := range append(ids, j.ID) {
		c := alice
		if id == j.ID {
			c = bob
		}
		if _, err := c.CancelJob(ctx, id); err != nil {
			t.Fatalf("cancel %s: %v", id, err)
		}
	}
}
