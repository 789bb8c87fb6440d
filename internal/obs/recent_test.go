package obs

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestRecentMinutesAndFailures(t *testing.T) {
	var r Recent
	now := time.Date(2026, 11, 30, 3, 0, 30, 0, time.UTC)
	// An hour and a minute ago: outside the window, and its slot reused.
	r.Observe(now.Add(-61*time.Minute), time.Millisecond, 200, Failure{})
	r.Observe(now.Add(-time.Minute), 2*time.Millisecond, 500, Failure{AccountID: "alice", Path: "/a"})
	r.Observe(now, 10*time.Second, 404, Failure{AccountID: "bob", Path: "/b"})
	r.Observe(now, 500*time.Microsecond, 200, Failure{AccountID: "alice"})
	ms := r.Minutes(now)
	if len(ms) != RecentMinutes || !ms[len(ms)-1].Start.Equal(now.Truncate(time.Minute)) {
		t.Fatalf("%d minutes, last %v", len(ms), ms[len(ms)-1].Start)
	}
	var total int64
	for _, m := range ms[:RecentMinutes-2] {
		total += m.Requests
	}
	if total != 0 {
		t.Errorf("%d requests older than two minutes, want 0 (the one 61 minutes ago is gone)", total)
	}
	prev, last := ms[RecentMinutes-2], ms[RecentMinutes-1]
	if prev.Requests != 1 || prev.Errors != 1 || prev.Latency[1] != 1 {
		t.Errorf("previous minute %+v", prev)
	}
	if last.Requests != 2 || last.Errors != 0 || last.Latency[0] != 1 || last.Latency[len(RecentBounds)] != 1 {
		t.Errorf("this minute %+v", last)
	}
	if f := r.Failures("alice", 10); len(f) != 1 || f[0].Path != "/a" || f[0].Status != 500 {
		t.Errorf("alice's failures %+v", f)
	}
	if f := r.Failures("bob", 10); len(f) != 1 || f[0].Path != "/b" {
		t.Errorf("bob's failures %+v", f)
	}
}

func TestRecentFailuresRing(t *testing.T) {
	var r Recent
	now := time.Now()
	for i := range RecentFailures + 10 {
		r.Observe(now, 0, 403, Failure{AccountID: "alice", Path: fmt.Sprint(i)})
	}
	f := r.Failures("alice", 3)
	if len(f) != 3 || f[0].Path != fmt.Sprint(RecentFailures+9) || f[2].Path != fmt.Sprint(RecentFailures+7) {
		t.Errorf("newest three: %+v", f)
	}
	if n := len(r.Failures("alice", 1000)); n != RecentFailures {
		t.Errorf("%d failures held, want %d", n, RecentFailures)
	}
}

// TestRecentSkipsStreams: the middleware feeds Recent every request but a
// stream's, and keeps a signed request's failure with its account.
func TestRecentSkipsStreams(t *testing.T) {
	m, _, srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		in := FromContext(r.Context())
		in.Account, in.AccountID = "alice", "AIDALICE"
		in.Stream = r.URL.Path == "/stream"
		w.WriteHeader(http.StatusNotFound)
	})
	for _, p := range []string{"/stream", "/page"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var n int64
	for _, mi := range m.Recent.Minutes(time.Now()) {
		n += mi.Requests
	}
	if f := m.Recent.Failures("AIDALICE", 10); n != 1 || len(f) != 1 || f[0].Path != "/page" {
		t.Errorf("Recent holds %d requests and failures %+v, want only /page", n, f)
	}
}
