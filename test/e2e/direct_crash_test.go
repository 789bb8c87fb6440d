package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/client"
)

// TestDirectRecordsSurviveKill drives service requests by the service's
// host into a server with direct connections on (so direct workers answer
// them, journaling each record before its answer), SIGKILLs the server
// with the requests in flight, restarts it on the same data, and checks
// that there are at least as many service records as responses read in
// full. The workers die with the server (their journals are stored at the
// restart); this fails if a response leaves before its record is written.
func TestDirectRecordsSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	// No cap on kept records: the sweeper would trim them past 10,000.
	srv := startServer(t, serverOpts{Args: []string{"--services-direct", "2", "--max-records", "0"}})
	ctx := context.Background()
	c := rootClient(t, srv)
	wasm, err := os.ReadFile("../../examples/services/hello/hello.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PushApp(ctx, "hello", "1", wasm, nil, false); err != nil {
		t.Fatal(err)
	}
	pub := true
	if _, err := c.CreateService(ctx, "hello", client.ServiceSpec{App: "hello", Public: &pub}); err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := srv.HTTPClient()
			for !stop.Load() {
				req, _ := http.NewRequest(http.MethodGet, srv.Endpoint+"/", nil)
				req.Host = "hello.svc.localhost"
				resp, err := hc.Do(req)
				if err != nil {
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode == 200 && string(b) == "hello\n" {
					served.Add(1)
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	srv.Kill()
	stop.Store(true)
	wg.Wait()
	if served.Load() == 0 {
		t.Fatal("no service request answered before the kill")
	}
	srv.Start()
	c = rootClient(t, srv)
	n, after := 0, ""
	for {
		page, next, err := c.ListRunsPage(ctx, 1000, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if r.Kind == "service" {
				n++
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	t.Logf("after the kill: %d service records for %d responses read in full", n, served.Load())
	if int64(n) < served.Load() {
		t.Errorf("%d service records for %d service responses read in full", n, served.Load())
	}
	srv.Stop()
}
