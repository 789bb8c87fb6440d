package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// wordFiles writes n small text files of a five-word vocabulary under a
// new directory and returns it with the exact count of each word.
func wordFiles(t *testing.T, n int) (string, map[string]int) {
	t.Helper()
	vocab := []string{"alpha", "beta", "gamma", "delta", "eps"}
	dir, want := t.TempDir(), map[string]int{}
	for i := range n {
		var b strings.Builder
		for k := range 5 + i%11 {
			w := vocab[(i+k*k)%len(vocab)]
			b.WriteString(w + " ")
			want[w]++
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d.txt", i)), []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, want
}

// apiClient is the native API's Go client for root through n.
func apiClient(t *testing.T, n *cnode) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Endpoint: n.Endpoint, AccessKey: rootAK, SecretKey: rootSK, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A word count over 1,000 objects on 4 real nodes (zones a, b, c, c, 2
// replicas), submitted with `insitu job run`: one node is SIGKILLed while
// it runs map tasks; the job still succeeds with the exact count, every
// map task ran on a node that held its input (before the kill, or a copy
// repair made after it), and no task was re-run on the dead node.
func TestClusterWordCount1000(t *testing.T) {
	needTool(t, "aws")
	c := startCluster(t, 2, "a", "b", "c", "c")
	root, err := testtool.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"sortu", "sum"} {
		if out, err := c.CLI(c.Nodes[0], "app", "push", app, filepath.Join(root, "examples/apps", app, app+".wasm")); err != nil {
			t.Fatalf("app push %s: %v\n%s", app, err, out)
		}
	}
	createBucket(t, c.Nodes[0], "words")
	dir, want := wordFiles(t, 1000)
	awsCopyTree(t, c.Nodes[1], dir, "words", "in/")
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("in/%04d.txt", i)
	}
	holders := c.Holders(c.Nodes[2], "words", keys)

	id, err := c.CLI(c.Nodes[0], "job", "run", "--detach", "--map", "sortu -w -c", "--reduce", "sum", "s3://words/in/")
	if err != nil {
		t.Fatalf("job run: %v\n%s", err, id)
	}
	id = strings.TrimSpace(id)
	victim := c.Nodes[3]
	final := watchAndKill(t, apiClient(t, c.Nodes[0]), id, victim)
	if final.State != "succeeded" {
		t.Fatalf("job %s: %s %s", id, final.State, final.Error)
	}
	out, err := c.CLI(c.Nodes[1], "job", "cat", id)
	if err != nil {
		t.Fatalf("job cat: %v\n%s", err, out)
	}
	checkCounts(t, out, want)
	// Repair gives the dead node's keys a new holder while the job runs,
	// and later tasks may run there: a holder is one before or after.
	for k, hs := range c.Holders(c.Nodes[2], "words", keys) {
		holders[k] = append(holders[k], hs...)
	}
	checkMapPlacement(t, apiClient(t, c.Nodes[0]), id, victim.Name, holders)
}

// watchAndKill follows job id and SIGKILLs victim once 50 map tasks are
// done and one is running on it; it returns the job's final state.
func watchAndKill(t *testing.T, api *client.Client, id string, victim *cnode) *client.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	killed := false
	start := time.Now()
	final, err := api.WatchJob(ctx, id, func(j *client.Job) {
		if killed || len(j.Phases) == 0 || j.Phases[0].Succeeded < 50 {
			return
		}
		tasks, _ := api.JobTasks(ctx, id)
		for _, tk := range tasks {
			if tk.Node == victim.Name && tk.State == "running" {
				victim.Kill()
				killed = true
				t.Logf("SIGKILLed %s after %d map tasks (%v)", victim.Name, j.Phases[0].Succeeded, time.Since(start).Round(time.Millisecond))
				return
			}
		}
	})
	if err != nil {
		t.Fatalf("watch job %s: %v", id, err)
	}
	if !killed {
		t.Fatalf("the job ended before a task ran on %s", victim.Name)
	}
	t.Logf("job %s %s after %v", id, final.State, time.Since(start).Round(time.Millisecond))
	return final
}

// checkCounts compares WORD<TAB>N lines with want.
func checkCounts(t *testing.T, out string, want map[string]int) {
	t.Helper()
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

// checkMapPlacement checks that each of the 1,000 map tasks ran on a node
// in holders of its input, and that none re-ran on victim.
func checkMapPlacement(t *testing.T, api *client.Client, id, victim string, holders map[string][]string) {
	t.Helper()
	tasks, err := api.JobTasks(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	maps, rerun, on := 0, 0, map[string]int{}
	for _, tk := range tasks {
		if tk.Phase != 0 {
			continue
		}
		maps++
		key := strings.TrimPrefix(tk.Input, "s3://words/")
		if !slices.Contains(holders[key], tk.Node) {
			t.Errorf("map task %d over %s ran on %q; held by %v", tk.Index, key, tk.Node, holders[key])
		}
		if tk.Attempts > 1 {
			rerun++
			if tk.Node == victim {
				t.Errorf("map task %d re-ran on the killed %s: %+v", tk.Index, victim, tk)
			}
		}
		on[tk.Node]++
	}
	t.Logf("map tasks per node: %v; re-run after the kill: %d", on, rerun)
	if maps != 1000 || rerun == 0 {
		t.Fatalf("%d map tasks (want 1000), %d re-run (want some, after the kill)", maps, rerun)
	}
}
