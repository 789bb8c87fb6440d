package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// testGuest reads a job test guest built from internal/jobs/testdata/NAME.wat.
func testGuest(t *testing.T, name string) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "jobs", "testdata", name+".wasm"))
	if err != nil {
		t.Fatalf("test guest %s: %v", name, err)
	}
	return b
}

// waitJobState polls the job until cond holds.
func waitJobState(t *testing.T, c *client.Client, id, what string, cond func(*client.Job) bool) *client.Job {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j, err := c.GetJob(context.Background(), id)
		if err != nil {
			t.Fatalf("get job: %v", err)
		}
		if cond(j) {
			return j
		}
		if j.Done() || time.Now().After(deadline) {
			t.Fatalf("waiting for %s: job %s %q %+v", what, j.State, j.Error, j.Phases)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestJobThreePhasePipeline: grep (map), then sort -u per reducer over
// key partitions (3 reducers), then one merging sort -u: the result is the
// sorted set of distinct matching lines, computed here in Go.
func TestJobThreePhasePipeline(t *testing.T) {
	_, c, s3c := jobsNode(t)
	objs := map[string]string{}
	want := map[string]bool{}
	for i := range 30 {
		var b strings.Builder
		for k := range 25 {
			switch {
			case k%3 == 0:
				line := fmt.Sprintf("ERROR disk %d full", (i*k)%17) // repeats across objects
				b.WriteString(line + "\n")
				want[line] = true
			case k%5 == 0:
				line := fmt.Sprintf("ERROR\ttabbed %d", k) // a TAB: the key is "ERROR"
				b.WriteString(line + "\n")
				want[line] = true
			default:
				fmt.Fprintf(&b, "INFO request %d ok\n", i*100+k)
			}
		}
		objs[fmt.Sprintf("app/%02d.log", i)] = b.String()
	}
	putObjects(t, s3c, "pipe", objs)
	j := runJob(t, c, client.JobSpec{Inputs: []string{"s3://pipe/app/"}, Out: "s3://pipe/out/",
		Phases: []client.JobPhase{
			{Type: "map", App: "grep", Args: []string{"-F", "ERROR"}},
			{Type: "reduce", App: "sortu", Reducers: 3, Partition: true},
			{Type: "reduce", App: "sortu"},
		}})
	if j.State != "succeeded" {
		t.Fatalf("job %s: %s %+v", j.State, j.Error, j.Phases)
	}
	if j.Phases[0].Succeeded != 30 || j.Phases[1].Succeeded != 3 || j.Phases[2].Succeeded != 1 {
		t.Fatalf("phases %+v", j.Phases)
	}
	lines := make([]string, 0, len(want))
	for l := range want {
		lines = append(lines, l)
	}
	sort.Strings(lines) // byte order, as sortu sorts
	if got, exp := catOutputs(t, c, s3c, j.ID), strings.Join(lines, "\n")+"\n"; got != exp {
		t.Fatalf("pipeline output:\n%s\nwant:\n%s", got, exp)
	}
	// Each middle reducer holds a sorted, distinct share; the shares split
	// the set exactly (all "ERROR\t..." lines share one key, one reducer).
	outs, err := c.JobOutputs(context.Background(), j.ID, 1)
	if err != nil || len(outs) != 3 {
		t.Fatalf("phase 1 outputs %+v %v", outs, err)
	}
	seen := map[string]int{}
	tabbedAt := -1
	for r, o := range outs {
		part := strings.Split(strings.TrimSuffix(getObject(t, s3c, o.Object), "\n"), "\n")
		if len(part) == 1 && part[0] == "" {
			part = nil
		}
		if !slices.IsSorted(part) {
			t.Errorf("reducer %d output not sorted: %q", r, part)
		}
		for _, l := range part {
			seen[l]++
			if strings.HasPrefix(l, "ERROR\t") {
				if tabbedAt >= 0 && tabbedAt != r {
					t.Errorf("key ERROR at reducers %d and %d", tabbedAt, r)
				}
				tabbedAt = r
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("reducers hold %d distinct lines, want %d", len(seen), len(want))
	}
	for l, n := range seen {
		if n != 1 || !want[l] {
			t.Errorf("line %q in %d reducers (expected: %v)", l, n, want[l])
		}
	}
}

// TestJobCancelMidJob: a job whose map never ends on its own (spin, with a
// 5-minute limit) is cancelled while its runs are in flight: the job ends
// cancelled within seconds, its runs are killed, and the node runs the
// next job normally.
func TestJobCancelMidJob(t *testing.T) {
	_, c, s3c := jobsNode(t)
	ctx := context.Background()
	if _, err := c.PushApp(ctx, "spin", "1.0.0", testGuest(t, "spin"), nil, false); err != nil {
		t.Fatal(err)
	}
	objs := map[string]string{}
	for i := range 20 {
		objs[fmt.Sprintf("in/%02d", i)] = "x\n"
	}
	putObjects(t, s3c, "slow", objs)
	j, err := c.SubmitJob(ctx, client.JobSpec{Inputs: []string{"s3://slow/in/"},
		Phases: []client.JobPhase{{Type: "map", App: "spin", Limits: map[string]any{"timeout": "5m"}}, {Type: "reduce", App: "sum"}}})
	if err != nil {
		t.Fatal(err)
	}
	waitJobState(t, c, j.ID, "runs in flight", func(j *client.Job) bool { return j.Phases[0].Running == 2 })
	time.Sleep(300 * time.Millisecond) // the guests are spinning
	start := time.Now()
	final, err := c.CancelJob(ctx, j.ID)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cancel took %v", took)
	if final.State != "cancelled" || took > 30*time.Second {
		t.Fatalf("after cancel (%v): %s %q %+v", took, final.State, final.Error, final.Phases)
	}
	if p := final.Phases[0]; p.Cancelled != 20 || p.Running != 0 || p.Succeeded+p.Failed != 0 {
		t.Fatalf("map counts %+v", p)
	}
	if p := final.Phases[1]; p.Cancelled != 1 {
		t.Fatalf("reduce counts %+v", p)
	}
	tasks, err := c.JobTasks(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, tk := range tasks {
		if tk.State != "cancelled" {
			t.Errorf("task %d/%d %s", tk.Phase, tk.Index, tk.State)
		}
		for _, id := range tk.Records {
			rec, err := c.GetRun(ctx, id)
			if err != nil {
				t.Fatalf("record %s: %v", id, err)
			}
			if rec.Status != "killed" || rec.WallMS > 60_000 {
				t.Errorf("run %s of a cancelled task: %s after %.0f ms", id, rec.Status, rec.WallMS)
			}
			killed++
		}
	}
	if killed != 2 {
		t.Errorf("%d runs killed, want the 2 in flight", killed)
	}
	// A second cancel changes nothing.
	if again, err := c.CancelJob(ctx, j.ID); err != nil || again.State != "cancelled" {
		t.Errorf("second cancel: %+v %v", again, err)
	}
	// The node is healthy: the slots came back and a normal job succeeds.
	ok := runJob(t, c, client.JobSpec{Inputs: []string{"s3://slow/in/"}, Out: "s3://slow/after/",
		Phases: []client.JobPhase{{Type: "map", App: "sortu", Args: []string{"-w", "-c"}}, {Type: "reduce", App: "sum"}}})
	if ok.State != "succeeded" {
		t.Fatalf("the job after the cancel: %s %q", ok.State, ok.Error)
	}
	if got := catOutputs(t, c, s3c, ok.ID); got != "x\t20\n" {
		t.Fatalf("the job after the cancel: %q", got)
	}
}

// TestJob10000TinyObjects: word count over 10,000 tiny objects gives the
// exact total. It logs how long the upload and the job take.
func TestJob10000TinyObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 objects")
	}
	_, c, s3c := jobsNode(t)
	const n = 10_000
	objs := make(map[string]string, n)
	words := 0
	for i := range n {
		k := 1 + i%5
		objs[fmt.Sprintf("t/%05d", i)] = strings.Repeat(fmt.Sprintf("w%d ", i%13), k) + "\n"
		words += k
	}
	start := time.Now()
	putObjects(t, s3c, "tiny", objs)
	upload := time.Since(start)
	start = time.Now()
	j := runJobWithin(t, c, client.JobSpec{Inputs: []string{"s3://tiny/t/"},
		Phases: []client.JobPhase{{Type: "map", App: "sortu", Args: []string{"-w", "-c"}}, {Type: "reduce", App: "sum"}}}, 12*time.Minute)
	took := time.Since(start)
	t.Logf("10,000 objects: upload %v, job %v (%.1f ms a task)", upload.Round(time.Millisecond), took.Round(time.Millisecond),
		float64(took.Milliseconds())/n)
	if j.State != "succeeded" || j.Phases[0].Succeeded != n {
		t.Fatalf("job %s %q %+v", j.State, j.Error, j.Phases)
	}
	total := 0
	for line := range strings.Lines(catOutputs(t, c, s3c, j.ID)) {
		_, v, _ := strings.Cut(strings.TrimSpace(line), "\t")
		x, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("output line %q", line)
		}
		total += x
	}
	if total != words {
		t.Fatalf("total %d words, want %d", total, words)
	}
	// Where a task's time goes: the run itself (the sandbox's wall and CPU
	// time, worker side) against the job's time per task and slot.
	if recs, err := c.ListRuns(context.Background(), 2000); err == nil && len(recs) > 0 {
		var wall, cpu float64
		for _, r := range recs {
			wall += r.WallMS
			cpu += r.CPUMS
		}
		t.Logf("last %d runs: mean %.2f ms wall, %.2f ms CPU in the sandbox; the job took %.2f ms a task per slot (2 slots)",
			len(recs), wall/float64(len(recs)), cpu/float64(len(recs)), 2*float64(took.Milliseconds())/n)
	}
}

// TestJobAppDeletedWhileRunning: the map app is removed while its job
// runs. Tasks that had not started are refused (no run, an error naming
// the app), the job fails saying so, and the outputs of the tasks that
// finished before are kept.
func TestJobAppDeletedWhileRunning(t *testing.T) {
	_, c, s3c := jobsNode(t)
	ctx := context.Background()
	if _, err := c.PushApp(ctx, "doomed", "1.0.0", exampleWasm(t, "wc"), nil, false); err != nil {
		t.Fatal(err)
	}
	objs := map[string]string{}
	for i := range 300 {
		objs[fmt.Sprintf("in/%03d", i)] = "one two three\n"
	}
	putObjects(t, s3c, "del", objs)
	j, err := c.SubmitJob(ctx, client.JobSpec{Inputs: []string{"s3://del/in/"},
		Phases: []client.JobPhase{{Type: "map", App: "doomed", Concurrency: 1}, {Type: "reduce", App: "sortu"}}})
	if err != nil {
		t.Fatal(err)
	}
	waitJobState(t, c, j.ID, "some tasks done", func(j *client.Job) bool { return j.Phases[0].Succeeded >= 5 })
	if err := c.RemoveApp(ctx, "doomed", ""); err != nil {
		t.Fatal(err)
	}
	final, err := c.WatchJob(ctx, j.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := final.Phases[0]
	t.Logf("app removed: %+v; error %q", p, final.Error)
	if final.State != "failed" || !strings.Contains(final.Error, "app doomed is gone") {
		t.Fatalf("job %s %q", final.State, final.Error)
	}
	if p.Succeeded < 5 || p.Failed == 0 || p.Succeeded+p.Failed != 300 || p.Succeeded == 300 {
		t.Fatalf("map counts %+v", p)
	}
	if final.Phases[1].Cancelled != 1 {
		t.Fatalf("reduce counts %+v", final.Phases[1])
	}
	tasks, err := c.JobTasks(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	sawRefusal := false
	for _, tk := range tasks {
		if tk.Phase != 0 {
			continue
		}
		switch tk.State {
		case "succeeded":
			if sawRefusal {
				t.Errorf("task %d succeeded after a refused one (concurrency 1)", tk.Index)
			}
			if got := getObject(t, s3c, tk.Output); got != "1 3 14\n" {
				t.Errorf("kept output of task %d: %q", tk.Index, got)
			}
		case "failed":
			sawRefusal = true
			if len(tk.Records) != 0 || tk.Output != "" || !strings.Contains(tk.Error, "app doomed is gone") || !strings.Contains(tk.Error, "no such app") {
				t.Errorf("refused task %d: records %v output %q error %q", tk.Index, tk.Records, tk.Output, tk.Error)
			}
		default:
			t.Errorf("task %d %s", tk.Index, tk.State)
		}
	}
	outs, err := c.JobOutputs(ctx, j.ID, 0)
	if err != nil || len(outs) != p.Succeeded {
		t.Fatalf("outputs %d (want %d) %v", len(outs), p.Succeeded, err)
	}
}

// TestJobRestartMarksInterrupted: the node stops while a job runs; on the
// same data directory the next node shows the job failed, "interrupted",
// and runs new jobs.
func TestJobRestartMarksInterrupted(t *testing.T) {
	dir := t.TempDir()
	node := apptest.Start(t, apptest.Options{DataDir: dir})
	ctx := context.Background()
	c := apiClient(t, node, node.AccessKey, node.SecretKey)
	for name, wasm := range map[string][]byte{"spin": testGuest(t, "spin"), "wc": exampleWasm(t, "wc")} {
		if _, err := c.PushApp(ctx, name, "1.0.0", wasm, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	objs := map[string]string{}
	for i := range 10 {
		objs[fmt.Sprintf("in/%d", i)] = "a b\n"
	}
	putObjects(t, node.S3("", ""), "restart", objs)
	j, err := c.SubmitJob(ctx, client.JobSpec{Inputs: []string{"s3://restart/in/"},
		Phases: []client.JobPhase{{Type: "map", App: "spin", Limits: map[string]any{"timeout": "5m"}}}})
	if err != nil {
		t.Fatal(err)
	}
	waitJobState(t, c, j.ID, "runs in flight", func(j *client.Job) bool { return j.Phases[0].Running > 0 })
	start := time.Now()
	node.Stop()
	t.Logf("stop took %v", time.Since(start))

	node2 := apptest.Start(t, apptest.Options{DataDir: dir})
	c2 := apiClient(t, node2, node2.AccessKey, node2.SecretKey)
	got, err := c2.GetJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "failed" || !strings.Contains(got.Error, "interrupted") || got.Ended.IsZero() {
		t.Fatalf("after restart: %s %q", got.State, got.Error)
	}
	if p := got.Phases[0]; p.Running != 0 || p.Pending != 0 || p.Succeeded != 0 || p.Failed+p.Cancelled != 10 {
		t.Fatalf("after restart: counts %+v", p)
	}
	tasks, err := c2.JobTasks(ctx, j.ID)
	if err != nil || len(tasks) != 10 {
		t.Fatalf("tasks %d %v", len(tasks), err)
	}
	for _, tk := range tasks {
		if tk.State == "running" || tk.State == "pending" {
			t.Errorf("task %d still %s", tk.Index, tk.State)
		}
	}
	list, err := c2.ListJobs(ctx, 10)
	if err != nil || len(list) != 1 || list[0].State != "failed" {
		t.Fatalf("jobs after restart %+v %v", list, err)
	}
	ok := runJob(t, c2, client.JobSpec{Inputs: []string{"s3://restart/in/"}, Phases: []client.JobPhase{{Type: "map", App: "wc"}}})
	if ok.State != "succeeded" || ok.Phases[0].Succeeded != 10 {
		t.Fatalf("a job after the restart: %s %q", ok.State, ok.Error)
	}
}

// TestJobRetries: --retries N runs a task whose guest failed again. A
// guest that fails about one run in four (flaky) succeeds everywhere with
// retries, with the extra attempts and their run records kept; a guest
// that always fails (grep with no match) is run exactly N+1 times.
func TestJobRetries(t *testing.T) {
	_, c, s3c := jobsNode(t)
	ctx := context.Background()
	if _, err := c.PushApp(ctx, "flaky", "1.0.0", testGuest(t, "flaky"), nil, false); err != nil {
		t.Fatal(err)
	}
	objs := map[string]string{}
	for i := range 40 {
		objs[fmt.Sprintf("in/%02d", i)] = "some text\n"
	}
	putObjects(t, s3c, "retry", objs)

	// P(a task fails 11 times) = 4^-11; P(no task retried) = 0.75^40 ~ 1e-5.
	j := runJob(t, c, client.JobSpec{Inputs: []string{"s3://retry/in/"}, Out: "s3://retry/flaky/", Retries: 10,
		Phases: []client.JobPhase{{Type: "map", App: "flaky"}}})
	if j.State != "succeeded" {
		t.Fatalf("flaky with retries: %s %q", j.State, j.Error)
	}
	tasks, err := c.JobTasks(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	retried := 0
	for _, tk := range tasks {
		if tk.Attempts != len(tk.Records) || tk.Attempts < 1 {
			t.Errorf("task %d: %d attempts, records %v", tk.Index, tk.Attempts, tk.Records)
		}
		if tk.Attempts > 1 {
			retried++
			first, err := c.GetRun(ctx, tk.Records[0])
			if err != nil || first.Status != "exited" || first.ExitCode != 1 {
				t.Errorf("task %d first attempt: %+v %v", tk.Index, first, err)
			}
		}
		last, err := c.GetRun(ctx, tk.Records[len(tk.Records)-1])
		if err != nil || last.Status != "exited" || last.ExitCode != 0 {
			t.Errorf("task %d last attempt: %+v %v", tk.Index, last, err)
		}
	}
	t.Logf("%d of 40 tasks needed a retry", retried)
	if retried == 0 {
		t.Error("no task was retried")
	}

	// A guest that always fails: retries 0 runs it once, retries 2 three
	// times, each attempt with its own record; the job fails.
	for _, retries := range []int{0, 2} {
		j := runJob(t, c, client.JobSpec{Inputs: []string{"s3://retry/in/00"}, Out: fmt.Sprintf("s3://retry/grep%d/", retries), Retries: retries,
			Phases: []client.JobPhase{{Type: "map", App: "grep", Args: []string{"NOTTHERE"}}}})
		if j.State != "failed" || !strings.Contains(j.Error, "exited 1") {
			t.Fatalf("retries %d: %s %q", retries, j.State, j.Error)
		}
		tasks, err := c.JobTasks(ctx, j.ID)
		if err != nil || len(tasks) != 1 {
			t.Fatal(tasks, err)
		}
		if tk := tasks[0]; tk.Attempts != retries+1 || len(tk.Records) != retries+1 || len(slices.Compact(slices.Clone(tk.Records))) != retries+1 {
			t.Errorf("retries %d: %d attempts, records %v", retries, tk.Attempts, tk.Records)
		}
		for _, id := range tasks[0].Records {
			if rec, err := c.GetRun(ctx, id); err != nil || rec.Status != "exited" || rec.ExitCode != 1 || rec.Kind != "job" {
				t.Errorf("retries %d: record %+v %v", retries, rec, err)
			}
		}
	}
}

// TestJobsShareSlotsFairly: a small job submitted while a big one runs
// gets slots in turn with it (the node's slot pool serves the jobs'
// dispatchers round robin), so it ends long before the big one.
func TestJobsShareSlotsFairly(t *testing.T) {
	_, c, s3c := jobsNode(t)
	ctx := context.Background()
	objs := map[string]string{}
	for i := range 400 {
		objs[fmt.Sprintf("big/%03d", i)] = "a b c\n"
	}
	for i := range 6 {
		objs[fmt.Sprintf("small/%d", i)] = "d e\n"
	}
	putObjects(t, s3c, "fair", objs)
	big, err := c.SubmitJob(ctx, client.JobSpec{Inputs: []string{"s3://fair/big/"}, Out: "s3://fair/out-big/",
		Phases: []client.JobPhase{{Type: "map", App: "wc"}}})
	if err != nil {
		t.Fatal(err)
	}
	before := waitJobState(t, c, big.ID, "the big job under way", func(j *client.Job) bool { return j.Phases[0].Succeeded >= 20 })
	small := runJob(t, c, client.JobSpec{Inputs: []string{"s3://fair/small/"}, Out: "s3://fair/out-small/",
		Phases: []client.JobPhase{{Type: "map", App: "wc"}}})
	after, err := c.GetJob(ctx, big.ID)
	if err != nil {
		t.Fatal(err)
	}
	ranMeanwhile := after.Phases[0].Succeeded - before.Phases[0].Succeeded
	t.Logf("the big job ran %d tasks while the small one ran its 6", ranMeanwhile)
	if small.State != "succeeded" || after.Done() || ranMeanwhile > 60 {
		t.Fatalf("small %s; big %s with %d tasks run meanwhile (want about 6, round robin)", small.State, after.State, ranMeanwhile)
	}
	if final, err := c.WatchJob(ctx, big.ID, nil); err != nil || final.State != "succeeded" {
		t.Fatalf("big job: %+v %v", final, err)
	}
}
