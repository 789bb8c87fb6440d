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

// TestRunRecordsSurviveKill drives runs (POST /api/v1/runs of sha256) and
// service requests (GET /svc/hello/) from 8 clients into the real binary,
// SIGKILLs it while they are in flight, restarts it on the same data and
// checks that every run that returned to its caller has its record, and
// that there are at least as many service records as service requests
// that were answered in full. Records are group-committed off the request
// path; this fails if a caller is answered before its batch is durable.
func TestRunRecordsSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	srv := startServer(t, serverOpts{})
	ctx := context.Background()
	c := rootClient(t, srv)
	for name, path := range map[string]string{
		"hello":  "../../examples/services/hello/hello.wasm",
		"sha256": "../../examples/apps/sha256/sha256.wasm",
	} {
		wasm, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.PushApp(ctx, name, "1", wasm, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	pub := true
	if _, err := c.CreateService(ctx, "hello", client.ServiceSpec{App: "hello", Public: &pub}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctx, client.RunSpec{App: "sha256", StdinData: "a b c\n"}, io.Discard, io.Discard); err != nil {
		t.Fatalf("run wc: %v", err)
	}
	var mu sync.Mutex
	ran := map[string]bool{} // run ids returned to their caller
	var served atomic.Int64  // service responses read in full
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := srv.HTTPClient()
			for !stop.Load() {
				if w%2 == 0 {
					if serveOnce(hc, srv.Endpoint+"/svc/hello/") {
						served.Add(1)
					}
					continue
				}
				rec, err := c.Run(ctx, client.RunSpec{App: "sha256", StdinData: "a b c\n"}, io.Discard, io.Discard)
				if err == nil && rec.ExitCode == 0 {
					mu.Lock()
					ran[rec.ID] = true
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	srv.Kill()
	stop.Store(true)
	wg.Wait()
	if len(ran) == 0 || served.Load() == 0 {
		t.Fatalf("nothing returned before the kill: %d runs, %d service requests", len(ran), served.Load())
	}
	srv.Start()
	c = rootClient(t, srv)
	kinds := map[string]int{}
	after := ""
	for {
		page, next, err := c.ListRunsPage(ctx, 1000, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			kinds[r.Kind]++
			delete(ran, r.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	t.Logf("after the kill: %v records; %d service responses were read", kinds, served.Load())
	if len(ran) > 0 {
		t.Errorf("%d runs returned to their caller but have no record after the kill", len(ran))
	}
	if int64(kinds["service"]) < served.Load() {
		t.Errorf("%d service records for %d service responses read in full", kinds["service"], served.Load())
	}
	srv.Stop()
}

// serveOnce GETs url and reports whether a 200 response was read whole.
func serveOnce(hc *http.Client, url string) bool {
	resp, err := hc.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return err == nil && resp.StatusCode == 200 && string(b) == "hello\n"
}

// rootClient is a native API client of srv with the root keys.
func rootClient(t *testing.T, srv *server) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Endpoint: srv.Endpoint, AccessKey: rootAK, SecretKey: rootSK, Region: "us-east-1", HTTPClient: srv.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
