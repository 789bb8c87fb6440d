package services_test

import (
	"context"
	"testing"

	"github.com/insitu-cloud/insitu/internal/client"
)

// A caps change of a service's owner takes effect on the very next
// request, although the node keeps accounts decoded in memory: a ceiling
// below what hello needs fails the next request, and clearing it lets the
// one after succeed.
func TestCapsChangeTakesEffectOnNextRequest(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	k, err := e.api.CreateUser(ctx, "dora")
	if err != nil {
		t.Fatal(err)
	}
	dc, _ := client.New(client.Config{Endpoint: e.node.Endpoint(), AccessKey: k.AccessKey, SecretKey: k.SecretKey, HTTPClient: e.hc})
	if _, err := dc.PushApp(ctx, "hello", "1", readWasm(t, "../../examples/services/hello/hello.wasm"), nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := dc.CreateService(ctx, "dorahello", client.ServiceSpec{App: "hello", Public: public()}); err != nil {
		t.Fatal(err)
	}
	status := func() int {
		resp, _ := e.get("/svc/dorahello/")
		return resp.StatusCode
	}
	for round := range 3 { // each change is read back from memory in between
		if s := status(); s != 200 {
			t.Fatalf("round %d, uncapped: %d", round, s)
		}
		if err := e.api.SetCaps(ctx, "dora", map[string]string{"memory": "64KiB"}); err != nil {
			t.Fatal(err)
		}
		if s := status(); s == 200 {
			t.Fatalf("round %d: the request right after a 64 KiB memory cap succeeded", round)
		}
		if s := status(); s == 200 {
			t.Fatalf("round %d: the second request after the cap succeeded", round)
		}
		if err := e.api.SetCaps(ctx, "dora", map[string]string{}); err != nil {
			t.Fatal(err)
		}
	}
	if s := status(); s != 200 {
		t.Fatalf("after clearing the caps: %d", s)
	}
}
