package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/insitu-cloud/insitu/internal/api"
	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/jobs"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/runs"
)

// pagedRuns serves List from a fixed newest-first list of ids and
// records the arguments it was called with; the other methods are not
// used by these tests.
type pagedRuns struct {
	api.Runs
	ids []string // newest first

	mu    sync.Mutex
	calls []string // "account limit after"
}

func (p *pagedRuns) List(_ context.Context, account string, limit int, after string) ([]runs.Record, string, error) {
	p.mu.Lock()
	p.calls = append(p.calls, fmt.Sprintf("%s %d %q", account, limit, after))
	p.mu.Unlock()
	if limit == 0 {
		limit = 2
	}
	start := 0
	if after != "" {
		start = slices.Index(p.ids, after) + 1
	}
	end := min(start+limit, len(p.ids))
	var out []runs.Record
	for _, id := range p.ids[start:end] {
		out = append(out, runs.Record{ID: id, Account: account})
	}
	next := ""
	if end < len(p.ids) {
		next = p.ids[end-1]
	}
	return out, next, nil
}

// pagedJobs is pagedRuns for jobs.
type pagedJobs struct {
	api.Jobs
	runs *pagedRuns
}

func (p pagedJobs) List(ctx context.Context, account string, limit int, after string) ([]jobs.Job, string, error) {
	recs, next, err := p.runs.List(ctx, account, limit, after)
	out := make([]jobs.Job, len(recs))
	for i, r := range recs {
		out[i] = jobs.Job{ID: r.ID, Account: account}
	}
	return out, next, err
}

// apiServer serves the API over real HTTP with real SigV4 accounts (in a
// real meta store) in front of the given fakes; it returns root's client.
func apiServer(t *testing.T, r api.Runs, j api.Jobs) *client.Client {
	t.Helper()
	ctx := context.Background()
	kv, err := meta.OpenLocal(filepath.Join(t.TempDir(), "control"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	accounts := auth.NewAccounts(kv)
	key, _, err := accounts.EnsureRoot(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(api.Deps{Verifier: &sigv4.Verifier{Keys: accounts}, Accounts: accounts, Runs: r, Jobs: j})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := client.New(client.Config{Endpoint: srv.URL, AccessKey: key.AccessKey, SecretKey: key.Secret})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestListPagination: the runs and jobs listings pass ?limit and ?after
// through and hand back "next"; walking the pages sees every item once.
func TestListPagination(t *testing.T) {
	ctx := context.Background()
	pr := &pagedRuns{ids: []string{"r5", "r4", "r3", "r2", "r1"}}
	c := apiServer(t, pr, pagedJobs{runs: pr})

	var got []string
	after := ""
	for range 10 { // 3 pages; more means the token is not followed
		list, next, err := c.ListRunsPage(ctx, 2, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range list {
			got = append(got, r.ID)
		}
		if after = next; next == "" {
			break
		}
	}
	if !slices.Equal(got, pr.ids) {
		t.Fatalf("walked %v", got)
	}
	want := []string{`root 2 ""`, `root 2 "r4"`, `root 2 "r2"`}
	if !slices.Equal(pr.calls, want) {
		t.Fatalf("service calls %q, want %q", pr.calls, want)
	}
	jl, next, err := c.ListJobsPage(ctx, 3, "r5")
	if err != nil || len(jl) != 3 || jl[0].ID != "r4" || next != "r2" {
		t.Fatalf("jobs page: %+v next %q %v", jl, next, err)
	}
	if list, next, err := c.ListRunsPage(ctx, 0, "r2"); err != nil || len(list) != 1 || next != "" {
		t.Fatalf("last page: %+v next %q %v", list, next, err)
	}
}

// TestListPaginationBadParams: a bad limit or token is a 400
// InvalidArgument, and the service is not called.
func TestListPaginationBadParams(t *testing.T) {
	ctx := context.Background()
	pr := &pagedRuns{}
	c := apiServer(t, pr, pagedJobs{runs: pr})
	if _, _, err := c.ListRunsPage(ctx, -1, ""); !client.IsCode(err, "InvalidArgument") {
		t.Fatalf("limit -1: %v", err)
	}
	if _, _, err := c.ListJobsPage(ctx, 1, "../x"); !client.IsCode(err, "InvalidArgument") {
		t.Fatalf("after ../x: %v", err)
	}
	if len(pr.calls) != 0 {
		t.Fatalf("service called: %q", pr.calls)
	}
}
