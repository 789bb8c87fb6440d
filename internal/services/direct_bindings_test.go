package services_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/insitu-cloud/insitu/internal/client"
)

// A direct worker binds its owner's caps and its app's version; a write
// of either reaches the very next request on a connection the worker
// may hold: a caps change, then the removal of the pinned version.
func TestDirectBindingFollowsWrites(t *testing.T) {
	e := setupDirect(t)
	ctx := context.Background()
	e.create("bound", client.ServiceSpec{App: "tool", Public: public()})
	resp, body := e.vget("bound", "counter")
	if resp.StatusCode != 200 || body != "1\n" || !e.logs.direct(t, resp) {
		t.Fatalf("first request: %d %q, want 200 \"1\" answered direct", resp.StatusCode, body)
	}
	if err := e.api.SetCaps(ctx, "root", map[string]string{"memory": "64KiB"}); err != nil {
		t.Fatal(err)
	}
	if resp, body := e.vget("bound", "counter"); resp.StatusCode == 200 {
		t.Fatalf("the request right after a 64 KiB memory cap: %d %q, want a failure", resp.StatusCode, body)
	}
	if err := e.api.SetCaps(ctx, "root", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	// The capped worker is drained; until its process ends it holds the
	// account's share, so this one may be the server's.
	if resp, body := e.vget("bound", "counter"); resp.StatusCode != 200 || body != "1\n" {
		t.Fatalf("after clearing the caps: %d %q, want 200", resp.StatusCode, body)
	}
	// A service pins its app's version: once that version is removed,
	// no worker runs it any more.
	if resp, body := e.vget("bound", "counter"); resp.StatusCode != 200 || body != "1\n" {
		t.Fatalf("before the removal: %d %q", resp.StatusCode, body)
	}
	if err := e.api.RemoveApp(ctx, "tool", "1"); err != nil {
		t.Fatal(err)
	}
	if resp, body := e.vget("bound", "counter"); resp.StatusCode == 200 {
		t.Fatalf("after its app version was removed: %d %q, want a failure", resp.StatusCode, body)
	}
}

// A service's max_concurrency holds on direct connections: while its
// only unit runs a request on a direct worker, the request is in flight
// and a request on another connection gets 503.
func TestDirectConcurrencyCap(t *testing.T) {
	e := setupDirect(t)
	e.create("slow", client.ServiceSpec{App: "tool", Public: public(), Timeout: "1500ms", MaxConcurrency: 1})
	if resp, _ := e.vget("slow", "counter"); resp.StatusCode != 200 || !e.logs.direct(t, resp) {
		t.Fatalf("first request: %d, want 200 answered direct", resp.StatusCode)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // on the direct connection, until the deadline
		defer wg.Done()
		req, _ := http.NewRequest(http.MethodGet, e.node.Endpoint()+"/?sleep", nil)
		req.Host = "slow.svc.localhost"
		if resp, err := e.hc.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	e.waitInFlight("slow", 1)
	resp, _ := e.vget("slow", "counter") // a second connection: the first is busy
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the cap: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	wg.Wait()
	// The worker died at the deadline; its unit is free again at once.
	if resp, _ := e.vget("slow", "counter"); resp.StatusCode != 200 && resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("after the slot freed: %d", resp.StatusCode)
	}
}
