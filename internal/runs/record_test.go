package runs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/meta/metatest"
	"github.com/insitu-cloud/insitu/internal/runs"
)

// recordsFixture is a Service over a counting real Pebble meta store.
func recordsFixture(t *testing.T) (*runs.Service, *metatest.Counting) {
	t.Helper()
	kv, err := meta.OpenLocal(filepath.Join(t.TempDir(), "control"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	c := &metatest.Counting{Store: kv}
	return runs.New(runs.Config{KV: c}), c
}

// putRecords writes n records of account, started one minute apart
// ending at last, with ids in start order; it returns the ids oldest first.
func putRecords(t *testing.T, kv meta.Store, account string, n int, last time.Time) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("0190-%06d", i) // sorts like UUIDv7s by start
		rec := runs.Record{ID: ids[i], Account: account, Start: last.Add(-time.Duration(n-1-i) * time.Minute)}
		b, _ := json.Marshal(rec)
		if err := kv.Put(context.Background(), "runs/"+account+"/"+ids[i], b); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// TestListRunsPages: with 5,000 records a page reads about a page from
// the index, and walking the pages returns every record once, newest
// first.
func TestListRunsPages(t *testing.T) {
	ctx := context.Background()
	s, kv := recordsFixture(t)
	ids := putRecords(t, kv, "alice", 5000, time.Now())
	putRecords(t, kv, "alicia", 3, time.Now()) // a neighbouring prefix
	kv.Reset()
	page, next, err := s.List(ctx, "alice", 10, "")
	if err != nil || len(page) != 10 || page[0].ID != ids[4999] || next != ids[4990] {
		t.Fatalf("first page: %d records, first %v, next %q, %v", len(page), page[0].ID, next, err)
	}
	if n := kv.Read(); n > 11 {
		t.Fatalf("a page of 10 read %d values", n)
	}
	seen, after := 0, ""
	for {
		page, next, err := s.List(ctx, "alice", 333, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if want := ids[4999-seen]; r.ID != want || r.Account != "alice" {
				t.Fatalf("record %d is %s of %s, want %s", seen, r.ID, r.Account, want)
			}
			seen++
		}
		if next == "" {
			break
		}
		after = next
	}
	if seen != 5000 {
		t.Fatalf("walked %d records", seen)
	}
	if page, _, err := s.List(ctx, "alice", 5000, ""); err != nil || len(page) != runs.MaxListLimit {
		t.Fatalf("limit is capped at %d: got %d, %v", runs.MaxListLimit, len(page), err)
	}
}

// TestPruneRuns deletes by age and by count per account, oldest first.
func TestPruneRuns(t *testing.T) {
	ctx := context.Background()
	s, kv := recordsFixture(t)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	alice := putRecords(t, kv, "alice", 50, now) // one a minute, the last at now
	bob := putRecords(t, kv, "bob", 10, now)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if n, err := s.Prune(cancelled, now, 1); !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("prune with a cancelled context: %d deleted, %v", n, err)
	}
	// Started before now-30m: alice's 19 oldest (now-49m..now-31m).
	n, err := s.Prune(ctx, now.Add(-30*time.Minute), 0)
	if err != nil || n != 19 {
		t.Fatalf("prune by age: %d deleted, %v", n, err)
	}
	list, _, _ := s.List(ctx, "alice", 1000, "")
	if len(list) != 31 || list[30].ID != alice[19] {
		t.Fatalf("alice after age prune: %d left, oldest %s", len(list), list[len(list)-1].ID)
	}
	// At most 5 per account: the newest stay.
	n, err = s.Prune(ctx, time.Time{}, 5)
	if err != nil || n != 26+5 {
		t.Fatalf("prune by count: %d deleted, %v", n, err)
	}
	for acct, ids := range map[string][]string{"alice": alice, "bob": bob} {
		list, _, _ := s.List(ctx, acct, 1000, "")
		if len(list) != 5 || list[0].ID != ids[len(ids)-1] || list[4].ID != ids[len(ids)-5] {
			t.Fatalf("%s after count prune: %+v", acct, list)
		}
	}
	if n, err := s.Prune(ctx, now.Add(-time.Hour), 5); err != nil || n != 0 {
		t.Fatalf("prune with nothing to do: %d, %v", n, err)
	}
}
