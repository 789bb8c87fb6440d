package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/meta/metatest"
)

// jobsFixture is a Service (no runner: nothing is submitted) over a
// counting real Pebble meta store.
func jobsFixture(t *testing.T) (*Service, *metatest.Counting) {
	t.Helper()
	kv, err := meta.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	c := &metatest.Counting{Store: kv}
	s, err := New(context.Background(), Config{KV: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// putJobs writes n finished jobs of account created (and ended) one
// minute apart up to last, with a task chunk each; ids oldest first.
func putJobs(t *testing.T, kv meta.Store, account string, n int, last time.Time, state State) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("0190-%06d", i)
		at := last.Add(-time.Duration(n-1-i) * time.Minute)
		j := Job{ID: ids[i], Account: account, State: state, Created: at}
		if state.Done() {
			j.Ended = at
		}
		b, _ := json.Marshal(j)
		if err := kv.Put(ctx, jobKey(account, ids[i]), b); err != nil {
			t.Fatal(err)
		}
		if err := kv.Put(ctx, chunkKey(account, ids[i], 0, 0), []byte("[]")); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// TestListJobsPages: a page reads about a page from the index, and the
// pages walk every job once, newest first.
func TestListJobsPages(t *testing.T) {
	ctx := context.Background()
	s, kv := jobsFixture(t)
	ids := putJobs(t, kv, "alice", 2500, time.Now(), Succeeded)
	kv.Reset()
	page, next, err := s.List(ctx, "alice", 10, "")
	if err != nil || len(page) != 10 || page[0].ID != ids[2499] || next != ids[2490] {
		t.Fatalf("first page: %d jobs, next %q, %v", len(page), next, err)
	}
	if n := kv.Read(); n > 11 {
		t.Fatalf("a page of 10 read %d values", n)
	}
	seen, after := 0, ""
	for {
		page, next, err := s.List(ctx, "alice", 400, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page {
			if want := ids[2499-seen]; j.ID != want {
				t.Fatalf("job %d is %s, want %s", seen, j.ID, want)
			}
			seen++
		}
		if after = next; next == "" {
			break
		}
	}
	if seen != 2500 {
		t.Fatalf("walked %d jobs", seen)
	}
}

// TestPruneJobs deletes finished jobs by age and count, with their task
// state, and never a job that has not ended.
func TestPruneJobs(t *testing.T) {
	ctx := context.Background()
	s, kv := jobsFixture(t)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	done := putJobs(t, kv, "alice", 20, now, Failed)
	queued := putJobs(t, kv, "bob", 3, now.Add(-time.Hour), Queued) // New already ran: they stay queued

	n, err := s.Prune(ctx, now.Add(-10*time.Minute), 0)
	if err != nil || n != 9 {
		t.Fatalf("prune by age: %d deleted, %v", n, err)
	}
	if left, _ := kv.List(ctx, tasksPrefix("alice", done[8])); len(left) != 0 {
		t.Fatalf("task state of a pruned job left: %v", left)
	}
	n, err = s.Prune(ctx, time.Time{}, 2)
	if err != nil || n != 9 {
		t.Fatalf("prune by count: %d deleted, %v", n, err)
	}
	if list, _, _ := s.List(ctx, "alice", 0, ""); len(list) != 2 || list[1].ID != done[18] {
		t.Fatalf("alice's jobs left: %+v", list)
	}
	if list, _, _ := s.List(ctx, "bob", 0, ""); len(list) != 3 || list[2].ID != queued[0] {
		t.Fatalf("bob's unfinished jobs: %+v", list)
	}
}

// TestRecoverWalksPages: recovery at start reads the jobs a page at a
// time and still marks every unfinished one, across page boundaries.
func TestRecoverWalksPages(t *testing.T) {
	ctx := context.Background()
	kv, err := meta.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	ids := putJobs(t, kv, "alice", pruneBatch+50, time.Now(), Running)
	s, err := New(ctx, Config{KV: kv})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{ids[0], ids[pruneBatch-1], ids[pruneBatch], ids[len(ids)-1]} {
		if j, err := s.Get(ctx, "alice", id); err != nil || j.State != Failed || j.Error != interruptedWhy {
			t.Fatalf("job %s after restart: %+v %v", id, j, err)
		}
	}
}
