package app_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// TestSweeperPrunesOldRecords: the node's sweeper keeps an account's
// newest MaxRecordsPerAccount runs and, once the (injected) clock passes
// RecordRetention, deletes run records and finished jobs; listings walk
// pages with the next token meanwhile.
func TestSweeperPrunesOldRecords(t *testing.T) {
	ctx := context.Background()
	var skew atomic.Int64 // added to the real time
	node := apptest.Start(t, apptest.Options{Configure: func(c *app.Config) {
		c.RecordRetention = 24 * time.Hour
		c.MaxRecordsPerAccount = 3
		c.SweepInterval = 20 * time.Millisecond
		c.Clock = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	}})
	root := apiClient(t, node, node.AccessKey, node.SecretKey)
	if _, err := root.PushApp(ctx, "wc", "1.0.0", exampleWasm(t, "wc"), nil, false); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 5 {
		rec, err := root.Run(ctx, client.RunSpec{App: "wc", StdinData: "a b\n"}, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	waitRuns(t, root, func(l []client.RunRecord) bool { return len(l) == 3 })
	first, next, err := root.ListRunsPage(ctx, 2, "")
	if err != nil || len(first) != 2 || first[0].ID != ids[4] || first[1].ID != ids[3] || next == "" {
		t.Fatalf("first page: %+v next %q %v", first, next, err)
	}
	rest, next, err := root.ListRunsPage(ctx, 2, next)
	if err != nil || len(rest) != 1 || rest[0].ID != ids[2] || next != "" {
		t.Fatalf("second page: %+v next %q %v", rest, next, err)
	}

	putObjects(t, node.S3("", ""), "sweep", map[string]string{"in/a": "x y\n"})
	j := runJob(t, root, client.JobSpec{Inputs: []string{"s3://sweep/in/"}, Phases: []client.JobPhase{{Type: "map", App: "wc"}}})
	if j.State != "succeeded" {
		t.Fatalf("job %s %q", j.State, j.Error)
	}
	skew.Store(int64(25 * time.Hour))
	waitRuns(t, root, func(l []client.RunRecord) bool { return len(l) == 0 })
	deadline := time.Now().Add(10 * time.Second)
	for {
		jobs, err := root.ListJobs(ctx, 10)
		if err == nil && len(jobs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("finished job not pruned: %+v %v", jobs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitRuns(t *testing.T, c *client.Client, done func([]client.RunRecord) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := c.ListRuns(context.Background(), 100)
		if err == nil && done(list) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs never pruned as expected: %d left, %v", len(list), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
