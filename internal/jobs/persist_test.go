package jobs

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// TestRecoverMarksUnfinishedJobsFailed: a node that died mid-job (its
// state still says running) finds the job failed "interrupted" when it
// starts again; running tasks fail, pending ones are cancelled, finished
// ones and finished jobs are left alone.
func TestRecoverMarksUnfinishedJobsFailed(t *testing.T) {
	ctx := context.Background()
	kv, err := meta.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	putJSON := func(key string, v any) {
		b, _ := json.Marshal(v)
		if err := kv.Put(ctx, key, b); err != nil {
			t.Fatal(err)
		}
	}
	running := Job{ID: "j1", Account: "alice", State: Running, Phases: []PhaseStatus{
		{Type: Map, App: "wc", Tasks: 3, Succeeded: 1, Running: 1, Pending: 1},
		{Type: Reduce, App: "sum", Tasks: 1, Pending: 1}}}
	putJSON(jobKey("alice", "j1"), running)
	putJSON(chunkKey("alice", "j1", 0, 0), []Task{{Phase: 0, Index: 0, State: Succeeded}, {Phase: 0, Index: 1, State: Running}, {Phase: 0, Index: 2, State: Pending}})
	putJSON(chunkKey("alice", "j1", 1, 0), []Task{{Phase: 1, Index: 0, State: Pending}})
	queued := Job{ID: "j2", Account: "bob", State: Queued, Phases: []PhaseStatus{{Type: Map, App: "wc", Tasks: 1, Pending: 1}}}
	putJSON(jobKey("bob", "j2"), queued)
	putJSON(chunkKey("bob", "j2", 0, 0), []Task{{Phase: 0, Index: 0, State: Pending}})
	done := Job{ID: "j3", Account: "alice", State: Succeeded, Phases: []PhaseStatus{{Type: Map, App: "wc", Tasks: 1, Succeeded: 1}}}
	putJSON(jobKey("alice", "j3"), done)

	s, err := New(ctx, Config{KV: kv})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	j, err := s.Get(ctx, "alice", "j1")
	if err != nil {
		t.Fatal(err)
	}
	if j.State != Failed || !strings.Contains(j.Error, "interrupted") || j.Ended.IsZero() {
		t.Fatalf("j1: %s %q ended %v", j.State, j.Error, j.Ended)
	}
	if p := j.Phases[0]; p.Succeeded != 1 || p.Failed != 1 || p.Cancelled != 1 || p.Running+p.Pending != 0 {
		t.Errorf("j1 phase 0 counts %+v", p)
	}
	if p := j.Phases[1]; p.Cancelled != 1 || p.Pending != 0 {
		t.Errorf("j1 phase 1 counts %+v", p)
	}
	tasks, err := s.Tasks(ctx, "alice", "j1")
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, tk := range tasks {
		states = append(states, string(tk.State))
	}
	if got := strings.Join(states, " "); got != "succeeded failed cancelled cancelled" {
		t.Errorf("j1 task states %q", got)
	}
	if !strings.Contains(tasks[1].Error, "interrupted") {
		t.Errorf("the running task's error %q", tasks[1].Error)
	}
	if j, _ := s.Get(ctx, "bob", "j2"); j == nil || j.State != Failed {
		t.Errorf("queued job after restart: %+v", j)
	}
	if j, _ := s.Get(ctx, "alice", "j3"); j == nil || j.State != Succeeded || j.Error != "" {
		t.Errorf("finished job changed: %+v", j)
	}
	// Listing is per account, newest (last created) first.
	list, _, err := s.List(ctx, "alice", 0, "")
	if err != nil || len(list) != 2 || list[0].ID != "j3" {
		t.Errorf("alice's jobs: %+v %v", list, err)
	}
}
