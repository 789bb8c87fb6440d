package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/client"
)

// TestJobOutputsSurviveKill runs word-count jobs over tiny objects in the
// real binary and SIGKILLs it twice: once in the middle of a job, right
// after reading which tasks it reports succeeded, and once right after a
// job reports success. After each restart every task that was reported
// succeeded has its output object (with the right count) and its run
// record, and the finished job is still succeeded. A task gives its slot
// to the next one before its output and record commit; this fails if it
// is reported succeeded before both are durable.
func TestJobOutputsSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	const n = 400
	srv := startServer(t, serverOpts{})
	ctx := context.Background()
	c := rootClient(t, srv)
	wasm, err := os.ReadFile("../../examples/apps/wc/wc.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PushApp(ctx, "wc", "1", wasm, nil, false); err != nil {
		t.Fatal(err)
	}
	s3c := sdkClient(srv)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("jobkill")}); err != nil {
		t.Fatal(err)
	}
	putTiny(t, s3c, n)
	spec := client.JobSpec{Inputs: []string{"s3://jobkill/in/"}, Phases: []client.JobPhase{{Type: "map", App: "wc"}}}

	// Kill in the middle of a job, a few times.
	for round := range 3 {
		j, err := c.SubmitJob(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		reported := tasksOnceSucceeded(t, c, j.ID, n/4+round*n/6)
		srv.Kill()
		if len(reported) == n {
			t.Fatalf("the job ended before the kill; nothing was cut short")
		}
		srv.Start()
		c, s3c = rootClient(t, srv), sdkClient(srv)
		checkTasksKept(t, c, s3c, reported)
		t.Logf("killed mid-job: %d of %d tasks reported succeeded, all kept", len(reported), n)
	}

	// Kill right after a job reports success.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	j, err := c.SubmitJob(wctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	final, err := c.WatchJob(wctx, j.ID, nil)
	srv.Kill()
	if err != nil || final.State != "succeeded" {
		t.Fatalf("job: %v %v", final, err)
	}
	srv.Start()
	c, s3c = rootClient(t, srv), sdkClient(srv)
	after, err := c.GetJob(ctx, j.ID)
	if err != nil || after.State != "succeeded" {
		t.Fatalf("after the kill the job that reported success is %v (%v)", after, err)
	}
	tasks, err := c.JobTasks(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := succeededTasks(tasks); len(got) != n {
		t.Fatalf("after the kill %d of %d tasks are succeeded", len(got), n)
	}
	checkTasksKept(t, c, s3c, tasks)
	srv.Stop()
}

// putTiny writes n objects jobkill/in/NNNN holding 1+i%5 words each.
func putTiny(t *testing.T, s3c *s3.Client, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				body := strings.Repeat("w ", 1+i%5) + "\n"
				_, err := s3c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("jobkill"),
					Key: aws.String(fmt.Sprintf("in/%04d", i)), Body: strings.NewReader(body)})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// tasksOnceSucceeded polls job id's tasks until at least min succeeded,
// and returns those.
func tasksOnceSucceeded(t *testing.T, c *client.Client, id string, min int) []client.JobTask {
	t.Helper()
	for {
		tasks, err := c.JobTasks(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if done := succeededTasks(tasks); len(done) >= min {
			return done
		}
	}
}

func succeededTasks(tasks []client.JobTask) []client.JobTask {
	var out []client.JobTask
	for _, tk := range tasks {
		if tk.State == "succeeded" {
			out = append(out, tk)
		}
	}
	return out
}

// checkTasksKept checks that each task's output holds its input's word
// count and that its last run record exists.
func checkTasksKept(t *testing.T, c *client.Client, s3c *s3.Client, tasks []client.JobTask) {
	t.Helper()
	ctx := context.Background()
	lost := 0
	for _, tk := range tasks {
		if tk.Output == "" || len(tk.Records) == 0 {
			t.Fatalf("task %d reported succeeded without output or record: %+v", tk.Index, tk)
		}
		if _, err := c.GetRun(ctx, tk.Records[len(tk.Records)-1]); err != nil {
			t.Errorf("task %d: record %s: %v", tk.Index, tk.Records[len(tk.Records)-1], err)
			lost++
		}
		b, k, _ := strings.Cut(strings.TrimPrefix(tk.Output, "s3://"), "/")
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
		if err != nil {
			t.Errorf("task %d: output %s: %v", tk.Index, tk.Output, err)
			lost++
			continue
		}
		data, err := io.ReadAll(out.Body)
		out.Body.Close()
		f := strings.Fields(string(data))
		if err != nil || len(f) != 3 || f[1] != strconv.Itoa(1+tk.Index%5) {
			t.Errorf("task %d: output %q (%v), want %d words", tk.Index, data, err, 1+tk.Index%5)
		}
		if lost > 10 {
			t.Fatal("more than 10 lost")
		}
	}
}
