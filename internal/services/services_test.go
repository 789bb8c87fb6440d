package services_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/minio/minio-go/v7"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

func TestMain(m *testing.M) { apptest.Main(m) }

func readWasm(t *testing.T, rel string) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type env struct {
	t    *testing.T
	node *apptest.Node
	api  *client.Client
	hc   *http.Client
	logs *requestLog // setupDirect's request log; nil otherwise
}

func setup(t *testing.T) *env { return setupWith(t, apptest.Options{}) }

func setupWith(t *testing.T, opts apptest.Options) *env {
	node := apptest.Start(t, opts)
	c, err := client.New(client.Config{Endpoint: node.Endpoint(), AccessKey: node.AccessKey, SecretKey: node.SecretKey, HTTPClient: node.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, rel := range map[string]string{
		"hello": "../../examples/services/hello/hello.wasm",
		"echo":  "../../examples/services/echo/echo.wasm",
		"tool":  "testdata/cgitool.wasm",
	} {
		if _, err := c.PushApp(ctx, name, "1", readWasm(t, rel), nil, false); err != nil {
			t.Fatalf("push %s: %v", name, err)
		}
	}
	return &env{t: t, node: node, api: c, hc: node.HTTPClient()}
}

func (e *env) create(name string, spec client.ServiceSpec) {
	e.t.Helper()
	if _, err := e.api.CreateService(context.Background(), name, spec); err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
}

func (e *env) do(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func (e *env) get(path string) (*http.Response, string) {
	req, _ := http.NewRequest(http.MethodGet, e.node.Endpoint()+path, nil)
	return e.do(req)
}

func public() *bool { b := true; return &b }

func (e *env) sign(req *http.Request, body []byte, ak, sk string) {
	sum := sha256.Sum256(body)
	ph := hex.EncodeToString(sum[:])
	req.Header.Set("x-amz-content-sha256", ph)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, req, ph, "s3", "us-east-1", time.Now()); err != nil {
		e.t.Fatal(err)
	}
}

func TestHelloAndCGIVariables(t *testing.T) {
	e := setup(t)
	e.create("hello", client.ServiceSpec{App: "hello", Public: public()})
	e.create("echo", client.ServiceSpec{App: "echo", Public: public(), Env: map[string]string{"GREETING": "hi"}})

	resp, body := e.get("/svc/hello/")
	if resp.StatusCode != 200 || body != "hello\n" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("hello: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	req, _ := http.NewRequest(http.MethodGet, e.node.Endpoint()+"/svc/echo/a/b%20c?x=1&y=two", nil)
	req.Header.Set("X-Custom-Thing", "value 1")
	req.Header.Set("Authorization", "Bearer secret-token")
	req.Header.Set("Cookie", "session=secret")
	req.Header.Set("Proxy", "http://evil.example:1")
	resp, body = e.do(req)
	if resp.StatusCode != 200 {
		t.Fatalf("echo: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{"REQUEST_METHOD=GET\n", "PATH_INFO=/a/b c\n", "QUERY_STRING=x=1&y=two\n", "SCRIPT_NAME=/svc/echo\n",
		"HTTP_X_CUSTOM_THING=value 1\n", "GATEWAY_INTERFACE=CGI/1.1\n", "SERVER_PROTOCOL=HTTP/1.1\n", "GREETING=hi\n", "REMOTE_ADDR=127.0.0.1\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("echo lacks %q:\n%s", want, body)
		}
	}
	for _, leak := range []string{"secret-token", "session=secret", "HTTP_AUTHORIZATION", "HTTP_PROXY", "evil.example"} {
		if strings.Contains(body, leak) {
			t.Errorf("echo saw %q", leak)
		}
	}
	// Virtual-host routing: NAME.svc.localhost, the whole path is PATH_INFO.
	req, _ = http.NewRequest(http.MethodPost, e.node.Endpoint()+"/p/q", strings.NewReader("body!"))
	req.Host = "echo.svc.localhost"
	req.Header.Set("Content-Type", "text/x-test")
	resp, body = e.do(req)
	if resp.StatusCode != 200 || !strings.Contains(body, "PATH_INFO=/p/q\n") || !strings.Contains(body, "SCRIPT_NAME=\n") ||
		!strings.Contains(body, "CONTENT_TYPE=text/x-test\n") || !strings.Contains(body, "CONTENT_LENGTH=5\n") || !strings.HasSuffix(body, "\nbody!") {
		t.Fatalf("virtual host echo: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = e.get("/svc/nosuch/")
	if resp.StatusCode != 404 {
		t.Fatalf("unknown service: %d", resp.StatusCode)
	}
}

func TestStreamingLargeBodies(t *testing.T) {
	e := setup(t)
	e.create("echo", client.ServiceSpec{App: "echo", Public: public(), Timeout: "60s"})
	body := make([]byte, 24<<20)
	rand.Read(body)
	req, _ := http.NewRequest(http.MethodPut, e.node.Endpoint()+"/svc/echo/upload", bytes.NewReader(body))
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	checkEchoed(t, resp, body)
	// Over the request body quota: a declared length is refused with 413
	// before anything runs; a chunked body that runs over is cut off.
	req, _ = http.NewRequest(http.MethodPut, e.node.Endpoint()+"/svc/echo/too-big", io.LimitReader(zeros{}, 64<<20+1))
	req.ContentLength = 64<<20 + 1
	resp, err = e.hc.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("declared body over quota: %d", resp.StatusCode)
		}
	}
	req, _ = http.NewRequest(http.MethodPut, e.node.Endpoint()+"/svc/echo/too-big", io.LimitReader(zeros{}, 64<<20+1))
	req.ContentLength = -1 // chunked
	resp, err = e.hc.Do(req)
	if err == nil {
		_, rerr := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && rerr == nil {
			t.Fatal("a chunked body over quota was served as complete")
		}
	}
}

// checkEchoed requires resp to be the echo service's 200 answer with
// body after its header block.
func checkEchoed(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %d %v", resp.StatusCode, err)
	}
	i := bytes.Index(got, []byte("\n\n"))
	if i < 0 || !bytes.Equal(got[i+2:], body) {
		t.Fatalf("%d-byte body did not come back intact (%d bytes)", len(body), len(got))
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestIsolationAndFailures(t *testing.T) {
	e := setup(t)
	// A generous timeout: on a loaded machine even a trivial request can
	// take a while; only the sleeper below must hit the limit.
	e.create("tool", client.ServiceSpec{App: "tool", Public: public(), Timeout: "30s"})
	// A global set by one request is unseen by the next: always 1.
	for i := 0; i < 5; i++ {
		if resp, body := e.get("/svc/tool/?counter"); resp.StatusCode != 200 || body != "1\n" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	cases := []struct {
		mode string
		code int
	}{{"trap", 502}, {"nohdr", 502}, {"status", 201}}
	for _, c := range cases {
		resp, body := e.get("/svc/tool/?" + c.mode)
		if resp.StatusCode != c.code {
			t.Errorf("%s: %d %q, want %d", c.mode, resp.StatusCode, body, c.code)
		}
		if c.mode == "status" && (resp.Header.Get("X-Guest") != "yes" || body != "made\n") {
			t.Errorf("status response: %v %q", resp.Header, body)
		}
	}
	if _, err := e.api.UpdateService(context.Background(), "tool", client.ServiceSpec{Timeout: "1s"}); err != nil {
		t.Fatal(err)
	}
	if resp, body := e.get("/svc/tool/?sleep"); resp.StatusCode != 504 {
		t.Errorf("sleep: %d %q, want 504", resp.StatusCode, body)
	}
	// Output without end: the stdout quota stops it; the client sees a cut
	// connection or a failure, never an endless or complete-looking body.
	if _, err := e.api.UpdateService(context.Background(), "tool", client.ServiceSpec{Timeout: "10s"}); err != nil {
		t.Fatal(err)
	}
	resp, err := e.hc.Get(e.node.Endpoint() + "/svc/tool/?spew")
	if err == nil {
		n, rerr := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if rerr == nil {
			t.Fatalf("endless output ended cleanly after %d bytes", n)
		}
	}
	// The node is still healthy.
	if resp, body := e.get("/svc/tool/?counter"); resp.StatusCode != 200 || body != "1\n" {
		t.Fatalf("after failures: %d %q", resp.StatusCode, body)
	}
	st, err := e.api.ServiceStats(context.Background(), "tool")
	if err != nil || st.Requests < 10 || st.ByStatus["504"] != 1 || st.ByStatus["502"] != 2 {
		t.Fatalf("stats: %+v %v", st, err)
	}
}

// waitInFlight waits (10 s at most) until svc stats show n of name's
// requests in flight.
func (e *env) waitInFlight(name string, n int) {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		st, err := e.api.ServiceStats(context.Background(), name)
		if err != nil {
			e.t.Fatal(err)
		}
		if st.InFlight == n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: %d requests in flight, want %d", name, st.InFlight, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConcurrencyCap(t *testing.T) {
	e := setup(t)
	e.create("slow", client.ServiceSpec{App: "tool", Public: public(), Timeout: "1500ms", MaxConcurrency: 1})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.get("/svc/slow/?sleep") }() // holds the only slot until its timeout
	// Wait until the sleeper holds the slot, then a second request is turned away.
	e.waitInFlight("slow", 1)
	resp, _ := e.get("/svc/slow/?counter")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the cap: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	wg.Wait()
	// Admitted once the slot is free: 200, or 504 when a loaded machine
	// (CI under load ~20) took longer than the service's 1.5 s to answer.
	if resp, _ := e.get("/svc/slow/?counter"); resp.StatusCode != 200 && resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("after the slot freed: %d", resp.StatusCode)
	}
}

func TestUpdateDuringTraffic(t *testing.T) {
	e := setup(t)
	e.create("ver", client.ServiceSpec{App: "tool", Public: public(), Env: map[string]string{"VERSION": "v1"}})
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := e.hc.Get(e.node.Endpoint() + "/svc/ver/?version")
				if err != nil {
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				seen[fmt.Sprintf("%d %s", resp.StatusCode, b)]++
				mu.Unlock()
			}
		}()
	}
	// Update while traffic flows: wait for old answers, update, then wait
	// for new ones (bounded, so a loaded machine only makes it slower).
	waitFor := func(what string) {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			n := seen[what]
			mu.Unlock()
			if n >= 3 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("never saw %q", what)
			}
		}
	}
	waitFor("200 v1\n")
	if _, err := e.api.UpdateService(context.Background(), "ver", client.ServiceSpec{Env: map[string]string{"VERSION": "v2"}}); err != nil {
		t.Fatal(err)
	}
	waitFor("200 v2\n")
	cancel()
	wg.Wait()
	for k := range seen {
		if k != "200 v1\n" && k != "200 v2\n" {
			t.Fatalf("unexpected response during update: %q (all: %v)", k, seen)
		}
	}
	if seen["200 v1\n"] == 0 || seen["200 v2\n"] == 0 {
		t.Fatalf("did not see both versions: %v", seen)
	}
	if _, body := e.get("/svc/ver/?version"); body != "v2\n" {
		t.Fatalf("after update: %q", body)
	}
}

func TestAuthenticatedServices(t *testing.T) {
	e := setup(t)
	e.create("private", client.ServiceSpec{App: "hello"})
	if resp, _ := e.get("/svc/private/"); resp.StatusCode != 403 {
		t.Fatalf("anonymous on a private service: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, e.node.Endpoint()+"/svc/private/", nil)
	e.sign(req, nil, e.node.AccessKey, e.node.SecretKey)
	if resp, body := e.do(req); resp.StatusCode != 200 || body != "hello\n" {
		t.Fatalf("owner on a private service: %d %q", resp.StatusCode, body)
	}
	k, err := e.api.CreateUser(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodGet, e.node.Endpoint()+"/svc/private/", nil)
	e.sign(req, nil, k.AccessKey, k.SecretKey)
	if resp, _ := e.do(req); resp.StatusCode != 403 {
		t.Fatalf("another account on a private service: %d", resp.StatusCode)
	}
	// Another account cannot see, change or remove it either.
	oc, _ := client.New(client.Config{Endpoint: e.node.Endpoint(), AccessKey: k.AccessKey, SecretKey: k.SecretKey, HTTPClient: e.hc})
	if _, err := oc.GetService(context.Background(), "private"); !client.IsCode(err, "NoSuchService") {
		t.Fatalf("other GetService: %v", err)
	}
	if err := oc.RemoveService(context.Background(), "private"); !client.IsCode(err, "NoSuchService") {
		t.Fatalf("other RemoveService: %v", err)
	}
	if _, err := oc.CreateService(context.Background(), "private", client.ServiceSpec{App: "root/hello"}); !client.IsCode(err, "ServiceExists") && !client.IsCode(err, "NoSuchApp") {
		t.Fatalf("name squatting: %v", err)
	}
}

func TestMountedObjects(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	mc := e.node.Minio(t, "", "", false)
	if err := mc.MakeBucket(ctx, "site", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"www/index.html": "<h1>home</h1>", "www/a/b.txt": "deep", "private/secret.txt": "nope"} {
		if _, err := mc.PutObject(ctx, "site", k, strings.NewReader(v), int64(len(v)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.create("site", client.ServiceSpec{App: "tool", Public: public(), Mounts: []client.ServiceMount{{Bucket: "site", Prefix: "www/", Path: "site"}}})
	for path, want := range map[string]string{
		"/svc/site/site/index.html?cat": "<h1>home</h1>",
		"/svc/site/site/a/b.txt?cat":    "deep",
	} {
		if resp, body := e.get(path); resp.StatusCode != 200 || body != want {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
	// Objects outside the granted prefix are not there, however asked for.
	for _, path := range []string{"/svc/site/private/secret.txt?cat", "/svc/site/site/%2e%2e/private/secret.txt?cat", "/svc/site/site/..%2fprivate/secret.txt?cat"} {
		if resp, body := e.get(path); resp.StatusCode != 404 || strings.Contains(body, "nope") {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
	// Mounting a bucket the owner does not own is refused.
	k, err := e.api.CreateUser(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := client.New(client.Config{Endpoint: e.node.Endpoint(), AccessKey: k.AccessKey, SecretKey: k.SecretKey, HTTPClient: e.hc})
	if _, err := oc.PushApp(ctx, "mine", "1", readWasm(t, "testdata/cgitool.wasm"), nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := oc.CreateService(ctx, "steal", client.ServiceSpec{App: "mine", Mounts: []client.ServiceMount{{Bucket: "site", Prefix: ""}}}); !client.IsCode(err, "AccessDenied") {
		t.Fatalf("mounting another account's bucket: %v", err)
	}
}

// TestStateInObjects: a service keeps state by writing /out (stored as
// objects when the request succeeds) and reading it back through a mount.
func TestStateInObjects(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	mc := e.node.Minio(t, "", "", false)
	if err := mc.MakeBucket(ctx, "state", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	e.create("notes", client.ServiceSpec{App: "tool", Public: public(),
		Mounts: []client.ServiceMount{{Bucket: "state", Prefix: "notes/"}},
		Out:    &client.ServiceMount{Bucket: "state", Prefix: "notes/"}})
	req, _ := http.NewRequest(http.MethodPost, e.node.Endpoint()+"/svc/notes/n1.json?save", strings.NewReader(`{"text":"remember"}`))
	if resp, body := e.do(req); resp.StatusCode != 201 || body != "{\"saved\":19}\n" {
		t.Fatalf("save: %d %q", resp.StatusCode, body)
	}
	if resp, body := e.get("/svc/notes/n1.json?cat"); resp.StatusCode != 200 || body != `{"text":"remember"}` {
		t.Fatalf("read back: %d %q", resp.StatusCode, body)
	}
	obj, err := mc.GetObject(ctx, "state", "notes/n1.json", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(obj)
	obj.Close()
	if string(b) != `{"text":"remember"}` {
		t.Fatalf("stored object %q", b)
	}
}
