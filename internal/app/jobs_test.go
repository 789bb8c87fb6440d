package app_test

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// jobsNode starts a node with the example apps the job tests use.
func jobsNode(t *testing.T) (*apptest.Node, *client.Client, *s3.Client) {
	t.Helper()
	node := apptest.Start(t, apptest.Options{})
	c := apiClient(t, node, node.AccessKey, node.SecretKey)
	for _, a := range []string{"wc", "sum", "grep", "sortu"} {
		if _, err := c.PushApp(context.Background(), a, "1.0.0", exampleWasm(t, a), nil, true); err != nil {
			t.Fatalf("push %s: %v", a, err)
		}
	}
	return node, c, node.S3("", "")
}

// putObjects writes objects concurrently.
func putObjects(t *testing.T, s3c *s3.Client, bucket string, objs map[string]string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	keys := make(chan string)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader(objs[k])}); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for k := range objs {
		keys <- k
	}
	close(keys)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("put: %v", err)
	default:
	}
}

func getObject(t *testing.T, s3c *s3.Client, url string) string {
	t.Helper()
	b, k, _ := strings.Cut(strings.TrimPrefix(url, "s3://"), "/")
	out, err := s3c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
	if err != nil {
		t.Fatalf("get %s: %v", url, err)
	}
	defer out.Body.Close()
	data, _ := io.ReadAll(out.Body)
	return string(data)
}

// runJob submits spec and waits for the job to end.
func runJob(t *testing.T, c *client.Client, spec client.JobSpec) *client.Job {
	t.Helper()
	return runJobWithin(t, c, spec, 3*time.Minute)
}

// runJobWithin is runJob with a bound on the whole job (a harness bound
// for a stuck job, not a timing goal: a race-enabled run on a shared
// 2-core machine is many times slower than a plain one).
func runJobWithin(t *testing.T, c *client.Client, spec client.JobSpec, bound time.Duration) *client.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	j, err := c.SubmitJob(ctx, spec)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	final, err := c.WatchJob(ctx, j.ID, nil)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	return final
}

// catOutputs concatenates the last phase's outputs.
func catOutputs(t *testing.T, c *client.Client, s3c *s3.Client, id string) string {
	t.Helper()
	outs, err := c.JobOutputs(context.Background(), id, -1)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, o := range outs {
		b.WriteString(getObject(t, s3c, o.Object))
	}
	return b.String()
}

func TestJobWordCount1000(t *testing.T) {
	_, c, s3c := jobsNode(t)
	objs := map[string]string{}
	words := 0
	for i := range 1000 {
		n := 1 + i%7
		objs[fmt.Sprintf("logs/%04d.txt", i)] = strings.Repeat("lorem ipsum dolor\n", n)
		words += 3 * n
	}
	putObjects(t, s3c, "wcb", objs)
	// sortu -w -c counts each object's words (WORD<TAB>N); sum adds the
	// counts per word across objects.
	j := runJob(t, c, client.JobSpec{
		Inputs: []string{"s3://wcb/logs/"},
		Phases: []client.JobPhase{{Type: "map", App: "sortu", Args: []string{"-w", "-c"}}, {Type: "reduce", App: "sum"}},
	})
	if j.State != "succeeded" {
		t.Fatalf("job %s: %s", j.State, j.Error)
	}
	got := catOutputs(t, c, s3c, j.ID)
	total := 0
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		_, n, _ := strings.Cut(line, "\t")
		v, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("output line %q", line)
		}
		total += v
	}
	if total != words || got != fmt.Sprintf("dolor\t%d\nipsum\t%d\nlorem\t%d\n", words/3, words/3, words/3) {
		t.Fatalf("word count %d, want %d; output %q", total, words, got)
	}
	if j.Phases[0].Succeeded != 1000 || j.Phases[1].Succeeded != 1 || j.BytesIn == 0 {
		t.Fatalf("phases %+v", j.Phases)
	}
}

func TestJobPartitionedEqualsSingleReducer(t *testing.T) {
	_, c, s3c := jobsNode(t)
	objs := map[string]string{}
	vocab := []string{"alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa"}
	for i := range 60 {
		var b strings.Builder
		for k := range 50 {
			b.WriteString(vocab[(i*k+k)%len(vocab)] + " ")
		}
		objs[fmt.Sprintf("books/%03d", i)] = b.String()
	}
	putObjects(t, s3c, "freq", objs)
	run := func(reducers int) map[string]string {
		j := runJob(t, c, client.JobSpec{Inputs: []string{"s3://freq/books/"}, Out: fmt.Sprintf("s3://freq/out-%d/", reducers),
			Phases: []client.JobPhase{{Type: "map", App: "sortu", Args: []string{"-w", "-c"}},
				{Type: "reduce", App: "sum", Reducers: reducers, Partition: true}}})
		if j.State != "succeeded" || j.Phases[1].Tasks != reducers {
			t.Fatalf("%d reducers: %s %s %+v", reducers, j.State, j.Error, j.Phases)
		}
		m := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(catOutputs(t, c, s3c, j.ID)), "\n") {
			k, v, _ := strings.Cut(line, "\t")
			if _, dup := m[k]; dup {
				t.Fatalf("%d reducers: key %q in two reducers", reducers, k)
			}
			m[k] = v
		}
		return m
	}
	one, four := run(1), run(4)
	if fmt.Sprint(one) != fmt.Sprint(four) || len(one) != len(vocab) {
		t.Fatalf("1 reducer %v\n4 reducers %v", one, four)
	}
}

func TestJobFailingMapKeepsOutputs(t *testing.T) {
	_, c, s3c := jobsNode(t)
	objs := map[string]string{}
	for i := range 20 {
		objs[fmt.Sprintf("in/%02d", i)] = "fine line\n"
	}
	objs["in/07"] = "no match here\n" // grep exits 1: a guest failure
	putObjects(t, s3c, "fail", objs)
	j := runJob(t, c, client.JobSpec{Inputs: []string{"s3://fail/in/"},
		Phases: []client.JobPhase{{Type: "map", App: "grep", Args: []string{"fine"}}, {Type: "reduce", App: "sortu"}}})
	if j.State != "failed" || j.Phases[0].Failed != 1 || j.Phases[0].Succeeded != 19 || !strings.Contains(j.Error, "exited 1") {
		t.Fatalf("job %s %q %+v", j.State, j.Error, j.Phases)
	}
	errs, err := c.JobErrors(context.Background(), j.ID)
	if err != nil || len(errs) != 1 || errs[0].Input != "s3://fail/in/07" || errs[0].Record == "" {
		t.Fatalf("errors %+v %v", errs, err)
	}
	outs, err := c.JobOutputs(context.Background(), j.ID, 0)
	if err != nil || len(outs) != 20 {
		t.Fatalf("outputs %d %v", len(outs), err)
	}
	if got := getObject(t, s3c, outs[3].Object); got != "fine line\n" {
		t.Fatalf("kept output %q", got)
	}
}

func TestJobRefusedBeforeAnyRun(t *testing.T) {
	node, c, s3c := jobsNode(t)
	putObjects(t, s3c, "private", map[string]string{"a": "x\n"})
	keys, err := c.CreateUser(context.Background(), "eve")
	if err != nil {
		t.Fatal(err)
	}
	eve := apiClient(t, node, keys.AccessKey, keys.SecretKey)
	_, err = eve.SubmitJob(context.Background(), client.JobSpec{Inputs: []string{"s3://private/"},
		Phases: []client.JobPhase{{Type: "map", App: "wc"}}})
	if !client.IsCode(err, "AccessDenied") {
		t.Fatalf("eve's job over root's bucket: %v", err)
	}
	if runs, _ := eve.ListRuns(context.Background(), 10); len(runs) != 0 {
		t.Fatalf("eve ran %d runs", len(runs))
	}
	if jobs, _ := eve.ListJobs(context.Background(), 10); len(jobs) != 0 {
		t.Fatalf("eve has jobs %+v", jobs)
	}
}
