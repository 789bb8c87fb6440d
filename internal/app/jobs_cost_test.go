package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// BenchmarkJobTinyTasks measures the per-task cost of a job around the
// sandbox: each iteration is one word-count job (map wc) over 1,000
// objects of a few bytes, on an in-process node with 2 sandbox workers.
// It reports the job's wall time per task, the node's CPU per task
// (this process: everything but the sandbox workers), the sandbox's own
// wall time per task (from the run records) and the overhead per task
// and slot: 2 x wall - sandbox wall, divided by tasks.
//
//	go test ./internal/app -run '^$' -bench JobTinyTasks -benchtime 3x [-cpuprofile F]
func BenchmarkJobTinyTasks(b *testing.B) {
	const n = 1000
	node := apptest.Start(b, apptest.Options{})
	ctx := context.Background()
	c, err := client.New(client.Config{Endpoint: node.Endpoint(), AccessKey: node.AccessKey, SecretKey: node.SecretKey, HTTPClient: node.HTTPClient()})
	if err != nil {
		b.Fatal(err)
	}
	_, file, _, _ := runtime.Caller(0)
	wasm, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "examples", "apps", "wc", "wc.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.PushApp(ctx, "wc", "1.0.0", wasm, nil, true); err != nil {
		b.Fatal(err)
	}
	s3c := node.S3("", "")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tiny")}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		body := strings.Repeat("lorem ipsum ", 1+i%5) + "\n"
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tiny"), Key: aws.String(fmt.Sprintf("t/%04d", i)), Body: strings.NewReader(body)}); err != nil {
			b.Fatal(err)
		}
	}
	spec := client.JobSpec{Inputs: []string{"s3://tiny/t/"}, Phases: []client.JobPhase{{Type: "map", App: "wc"}}}
	var wall, cpu, sandboxWall time.Duration
	b.ResetTimer()
	for range b.N {
		cpu0 := processCPU()
		start := time.Now()
		j, err := c.SubmitJob(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		final, err := c.WatchJob(ctx, j.ID, nil)
		if err != nil || final.State != "succeeded" {
			b.Fatalf("job %v %v", final, err)
		}
		wall += time.Since(start)
		cpu += processCPU() - cpu0
		b.StopTimer()
		recs, err := c.ListRuns(ctx, n)
		if err != nil || len(recs) != n {
			b.Fatalf("runs: %d, %v", len(recs), err)
		}
		for _, r := range recs {
			sandboxWall += time.Duration(r.WallMS * float64(time.Millisecond))
		}
		b.StartTimer()
	}
	tasks := float64(b.N * n)
	b.ReportMetric(float64(wall.Microseconds())/tasks, "µs-wall/task")
	b.ReportMetric(float64(cpu.Microseconds())/tasks, "µs-nodeCPU/task")
	b.ReportMetric(float64(sandboxWall.Microseconds())/tasks, "µs-sandbox/task")
	b.ReportMetric(float64((2*wall-sandboxWall).Microseconds())/tasks, "µs-overhead/task-slot")
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
