package services_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// BenchmarkServiceHello is one public GET /svc/hello/ end to end against
// an in-process node (the client, the HTTP server, the services path and
// the sandbox worker round trip), for CPU and allocation profiles of the
// request path (go test -bench ServiceHello -cpuprofile/-memprofile).
func BenchmarkServiceHello(b *testing.B) {
	node := apptest.Start(b, apptest.Options{})
	c, err := client.New(client.Config{Endpoint: node.Endpoint(), AccessKey: node.AccessKey, SecretKey: node.SecretKey, HTTPClient: node.HTTPClient()})
	if err != nil {
		b.Fatal(err)
	}
	_, file, _, _ := runtime.Caller(0)
	wasm, err := os.ReadFile(filepath.Join(filepath.Dir(file), "../../examples/services/hello/hello.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.PushApp(ctx, "hello", "1", wasm, nil, false); err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateService(ctx, "hello", client.ServiceSpec{App: "hello", Public: public()}); err != nil {
		b.Fatal(err)
	}
	hc, url := node.HTTPClient(), node.Endpoint()+"/svc/hello/"
	for b.Loop() {
		resp, err := hc.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "hello\n" {
			b.Fatalf("%d %q", resp.StatusCode, body)
		}
	}
}
