package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// computeCluster starts a cluster of len(zones) nodes with 2 replicas and
// pushes the example apps through node 0.
func computeCluster(t *testing.T, zones ...string) (*apptest.Cluster, *client.Client) {
	t.Helper()
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: zones, Replicas: 2})
	everyNodeSeesAll(t, cl, len(zones))
	api := cl.API(0)
	for _, a := range []string{"upper", "sortu", "sum"} {
		if _, err := api.PushApp(context.Background(), a, "1.0.0", exampleWasm(t, a), nil, false); err != nil {
			t.Fatalf("push %s: %v", a, err)
		}
	}
	return cl, api
}

// everyNodeSeesAll waits until every node's own view has all n nodes up,
// so objects written through any of them are placed over all n (under
// load a writer's view lagged, and every object landed on two nodes).
func everyNodeSeesAll(t *testing.T, cl *apptest.Cluster, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for i := range cl.Nodes {
		for {
			up := 0
			st, err := cl.API(i).ClusterStatus(context.Background())
			if err == nil {
				for _, nd := range st.Nodes {
					if nd.State == "up" {
						up++
					}
				}
			}
			if up == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d sees %d of %d nodes up (%v)", i, up, n, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// nodeIndex is the index of the node named name ("nodeN").
func nodeIndex(t *testing.T, name string) int {
	t.Helper()
	var i int
	if _, err := fmt.Sscanf(name, "node%d", &i); err != nil {
		t.Fatalf("node name %q", name)
	}
	return i
}

// A GET ?x-insitu-run through a node that holds no replica of the object
// runs on a node that does: its record names a holder, and the caller
// gets the guest's output.
func TestClusterRunExecutesOnHolder(t *testing.T) {
	cl, api := computeCluster(t, "a", "b", "c")
	s3c := cl.Nodes[0].S3("", "")
	objs := map[string]string{}
	for i := range 6 {
		objs[fmt.Sprintf("doc-%d.txt", i)] = strings.Repeat(fmt.Sprintf("line %d of a document\n", i), 50+i)
	}
	putObjects(t, s3c, "docs", objs)
	for key, text := range objs {
		holders, err := api.Replicas(context.Background(), "docs", key)
		if err != nil || len(holders) != 2 {
			t.Fatalf("replicas of %s: %v %v", key, holders, err)
		}
		other := -1
		for i := range cl.Nodes {
			if !slices.Contains(holders, fmt.Sprintf("node%d", i)) {
				other = i
			}
		}
		n := cl.Nodes[other]
		req, _ := http.NewRequest(http.MethodGet, n.Endpoint()+"/docs/"+key+"?x-insitu-run=upper", nil)
		signRaw(t, n, req, nil)
		resp, err := n.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(got) != strings.ToUpper(text) {
			t.Fatalf("run over %s through node%d: %d %q", key, other, resp.StatusCode, got[:min(len(got), 80)])
		}
		rec, err := cl.API(other).GetRun(context.Background(), resp.Header.Get("x-insitu-run-id"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(holders, rec.Node) {
			t.Fatalf("run over %s (held by %v) through node%d ran on %q", key, holders, other, rec.Node)
		}
		// The native API too; a refusal there keeps its code.
		var out strings.Builder
		rec, err = cl.API(other).Run(context.Background(), client.RunSpec{App: "upper", Stdin: "s3://docs/" + key}, &out, io.Discard)
		if err != nil {
			t.Fatalf("native run over %s through node%d: %v", key, other, err)
		}
		if !slices.Contains(holders, rec.Node) || out.String() != strings.ToUpper(text) {
			t.Fatalf("native run over %s (held by %v) through node%d ran on %q, %d bytes", key, holders, other, rec.Node, out.Len())
		}
		_, err = cl.API(other).Run(context.Background(), client.RunSpec{App: "nope", Stdin: "s3://docs/" + key}, io.Discard, io.Discard)
		if !client.IsCode(err, "NoSuchApp") {
			t.Fatalf("unknown app through node%d: %v", other, err)
		}
	}
}

// wordObjects is n objects of a small vocabulary and the exact count of
// each word over all of them.
func wordObjects(n int) (map[string]string, map[string]int) {
	vocab := []string{"alpha", "beta", "gamma", "delta", "eps"}
	objs, want := map[string]string{}, map[string]int{}
	for i := range n {
		var b strings.Builder
		for k := range 5 + i%11 {
			w := vocab[(i+k*k)%len(vocab)]
			b.WriteString(w + " ")
			want[w]++
		}
		objs[fmt.Sprintf("in/%04d.txt", i)] = b.String()
	}
	return objs, want
}

// wordCountSpec counts words per object (sortu -w -c) and sums the
// counts per word.
var wordCountSpec = client.JobSpec{Inputs: []string{"s3://words/in/"},
	Phases: []client.JobPhase{{Type: "map", App: "sortu", Args: []string{"-w", "-c"}}, {Type: "reduce", App: "sum"}}}

// checkWordCount compares a finished job's output (WORD<TAB>N lines, in
// any order over its reducers) with want.
func checkWordCount(t *testing.T, api *client.Client, cl *apptest.Cluster, j *client.Job, want map[string]int) {
	t.Helper()
	if j.State != "succeeded" {
		t.Fatalf("job %s: %s %+v", j.State, j.Error, j.Phases)
	}
	out := catOutputs(t, api, cl.Nodes[0].S3("", ""), j.ID)
	got := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var w string
		var n int
		if _, err := fmt.Sscanf(line, "%s\t%d", &w, &n); err != nil || got[w] != 0 {
			t.Fatalf("output line %q (%v) in:\n%s", line, err, out)
		}
		got[w] = n
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("word count %v, want %v", got, want)
	}
}

// A word count over objects spread on 4 nodes is exact, every map task
// ran on a node holding its input (its task and its run record say so),
// the map tasks spread over the nodes, and the key-partitioned reducers
// spread by load (those placed elsewhere get their stdin over the wire).
func TestClusterJobMapsRunOnHolders(t *testing.T) {
	start := time.Now()
	cl, api := computeCluster(t, "a", "b", "c", "c")
	objs, want := wordObjects(100)
	t.Logf("cluster up %v", time.Since(start))
	putObjects(t, cl.Nodes[1].S3("", ""), "words", objs)
	t.Logf("objects in %v", time.Since(start))
	// Repair may still move a copy written while a node was missing from
	// the writer's view (to the placement over all four): a task may run
	// on a holder from before the job or from after it.
	before := map[string][]string{}
	for key := range objs {
		hs, err := api.Replicas(context.Background(), "words", key)
		if err != nil {
			t.Fatal(err)
		}
		before[key] = hs
	}
	spec := wordCountSpec
	spec.Phases = []client.JobPhase{spec.Phases[0], {Type: "reduce", App: "sum", Reducers: 3, Partition: true}}
	j := runJob(t, api, spec)
	t.Logf("job done %v", time.Since(start))
	checkWordCount(t, api, cl, j, want)
	tasks, err := api.JobTasks(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	used, reducers := map[string]int{}, map[string]int{}
	for _, tk := range tasks {
		if tk.Phase != 0 {
			reducers[tk.Node]++
			continue
		}
		key := strings.TrimPrefix(tk.Input, "s3://words/")
		holders, err := api.Replicas(context.Background(), "words", key)
		if err != nil || !slices.Contains(holders, tk.Node) && !slices.Contains(before[key], tk.Node) {
			t.Fatalf("map task %d over %s ran on %q, held by %v before the job and %v after (%v)", tk.Index, key, tk.Node, before[key], holders, err)
		}
		used[tk.Node]++
		if tk.Index%16 == 0 { // the record agrees (a sample: each is a call)
			rec, err := api.GetRun(context.Background(), tk.Records[len(tk.Records)-1])
			if err != nil || rec.Node != tk.Node {
				t.Fatalf("map task %d placed on %s, its record: %+v %v", tk.Index, tk.Node, rec, err)
			}
		}
	}
	if len(used) < 3 {
		t.Fatalf("map tasks ran on %v: not spread over the holders", used)
	}
	if len(reducers) < 2 { // one streams on node 0; the others go by load
		t.Fatalf("reducers ran on %v: not spread by load", reducers)
	}
}

// A node killed while a word count runs tasks on it: the tasks it was
// running are re-run elsewhere and the job is still exact. The task seen
// running on node3 can finish before the kill lands (the job then has
// nothing to re-run), so the scenario is tried again, up to 3 times, each
// on a new cluster, until a task was re-run.
func TestClusterJobSurvivesNodeLoss(t *testing.T) {
	for try := 1; try <= 3; try++ {
		rerun := 0
		t.Run(fmt.Sprintf("try%d", try), func(t *testing.T) { rerun = jobThroughNodeLoss(t) })
		if t.Failed() || rerun > 0 {
			return
		}
		t.Logf("try %d: what ran on node3 finished before it died; again", try)
	}
	t.Fatal("no task was re-run after node3 was killed, in 3 tries")
}

// jobThroughNodeLoss runs a word count, kills node3 while it runs a task,
// checks the answer and that nothing re-ran on node3, and returns how
// many tasks were re-run.
func jobThroughNodeLoss(t *testing.T) int {
	cl, api := computeCluster(t, "a", "b", "c", "c")
	objs, want := wordObjects(120)
	putObjects(t, cl.Nodes[0].S3("", ""), "words", objs)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	j, err := api.SubmitJob(ctx, wordCountSpec)
	if err != nil {
		t.Fatal(err)
	}
	killed := false
	final, err := api.WatchJob(ctx, j.ID, func(j *client.Job) {
		if killed || j.Phases[0].Succeeded < 10 {
			return
		}
		tasks, _ := api.JobTasks(ctx, j.ID)
		for _, tk := range tasks {
			if tk.Node == "node3" && tk.State == "running" {
				cl.Nodes[3].Kill()
				killed = true
				return
			}
		}
	})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	if !killed {
		t.Fatal("the job ended before a task ran on node3")
	}
	checkWordCount(t, api, cl, final, want)
	tasks, err := api.JobTasks(context.Background(), final.ID)
	if err != nil {
		t.Fatal(err)
	}
	rerun := 0
	for _, tk := range tasks {
		if tk.Attempts > 1 {
			rerun++
		}
		if tk.Phase == 0 && tk.Node == "node3" && tk.Attempts > 1 {
			t.Fatalf("task %d re-ran on the killed node: %+v", tk.Index, tk)
		}
	}
	return rerun
}
