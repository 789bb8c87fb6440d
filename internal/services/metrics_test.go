package services_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/client"
)

// TestAnonymousMetricsNamePublicServicesOnly: an anonymous scrape of
// /metrics shows public services by name and private ones only together
// (service="_private"): no private service name, no account name.
func TestAnonymousMetricsNamePublicServicesOnly(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.create("openhello", client.ServiceSpec{App: "hello", Public: public()})
	e.create("rootsecret", client.ServiceSpec{App: "hello"})
	k, err := e.api.CreateUser(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := client.New(client.Config{Endpoint: e.node.Endpoint(), AccessKey: k.AccessKey, SecretKey: k.SecretKey, HTTPClient: e.hc})
	if _, err := cc.PushApp(ctx, "hello", "1", readWasm(t, "../../examples/services/hello/hello.wasm"), nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.CreateService(ctx, "carolhidden", client.ServiceSpec{App: "hello"}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.get("/svc/openhello/"); resp.StatusCode != 200 {
		t.Fatalf("public: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, e.node.Endpoint()+"/svc/rootsecret/", nil)
	e.sign(req, nil, e.node.AccessKey, e.node.SecretKey)
	if resp, _ := e.do(req); resp.StatusCode != 200 {
		t.Fatalf("private, owner: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, e.node.Endpoint()+"/svc/carolhidden/", nil)
	e.sign(req, nil, k.AccessKey, k.SecretKey)
	if resp, _ := e.do(req); resp.StatusCode != 200 {
		t.Fatalf("private, carol: %d", resp.StatusCode)
	}
	if resp, _ := e.get("/svc/carolhidden/"); resp.StatusCode != 403 {
		t.Fatalf("private, anonymous: %d", resp.StatusCode)
	}
	resp, body := e.get("/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	for _, leak := range []string{"rootsecret", "carolhidden", "carol"} {
		if strings.Contains(body, leak) {
			t.Errorf("an anonymous scrape names %q", leak)
		}
	}
	for _, want := range []string{
		`insitu_service_requests_total{code="200",service="openhello"} 1`,
		`insitu_service_requests_total{code="200",service="_private"} 2`,
		`insitu_service_requests_total{code="403",service="_private"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
