package s3api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/chromedp/chromedp"
	"github.com/minio/minio-go/v7"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// TestCORSBrowser drives a real chromium: a page served from another
// origin (another 127.0.0.1 port) fetches a presigned GET, PUTs through a
// presigned URL (which makes chromium send a preflight) and posts a form
// upload. Each is refused by the browser until the bucket's CORS
// configuration allows the page's origin, and succeeds after.
func TestCORSBrowser(t *testing.T) {
	path := testtool.Need(t, "chromium", "chromium")
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!doctype html><title>other origin</title><p>app</p>")
	}))
	defer page.Close()
	c := node.S3("", "")
	b := aws.String("web")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("hello.txt"), Body: bytes.NewReader([]byte("hello"))}); err != nil {
		t.Fatal(err)
	}
	bctx := startChromium(t, path)
	if _, err := chromedp.Run(bctx, chromedp.Navigate(page.URL)); err != nil {
		t.Fatal(err)
	}
	ps := s3.NewPresignClient(c)
	get, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("hello.txt")})
	if err != nil {
		t.Fatal(err)
	}
	put, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("from-browser.txt")})
	if err != nil {
		t.Fatal(err)
	}
	fetchGet := `fetch(` + jsString(t, get.URL) + `).then(r => r.text())`
	fetchPut := `fetch(` + jsString(t, put.URL) + `, {method: "PUT", body: "put by a page"}).then(r => "status " + r.status)`
	for _, js := range []string{fetchGet, fetchPut, postFormJS(t, node, "refused.txt")} {
		if got := browserRun(t, bctx, js); got != "error: TypeError: Failed to fetch" {
			t.Fatalf("without CORS, %s gave %q", js, got)
		}
	}
	cfg := &types.CORSConfiguration{CORSRules: []types.CORSRule{{AllowedOrigins: []string{page.URL}, AllowedMethods: []string{"GET", "PUT", "POST"}, AllowedHeaders: []string{"*"}}}}
	if _, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	for js, want := range map[string]string{fetchGet: "hello", fetchPut: "status 200", postFormJS(t, node, "posted.txt"): "status 204"} {
		if got := browserRun(t, bctx, js); got != want {
			t.Fatalf("with CORS, %s gave %q, want %q", js, got, want)
		}
	}
	for key, want := range map[string]string{"from-browser.txt": "put by a page", "posted.txt": "posted by a form"} {
		o, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(o.Body)
		o.Body.Close()
		if string(got) != want {
			t.Fatalf("%s holds %q", key, got)
		}
	}
}

// postFormJS is a page script posting a form upload of key, signed by
// minio-go's PresignedPostPolicy, with fetch and FormData.
func postFormJS(t *testing.T, node *apptest.Node, key string) string {
	mc := node.Minio(t, "", "", false)
	p := minio.NewPostPolicy()
	p.SetBucket("web")
	p.SetKey(key)
	p.SetExpires(time.Now().Add(time.Hour))
	u, fields, err := mc.PresignedPostPolicy(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	fj, _ := json.Marshal(fields)
	return `(() => { const fd = new FormData(); const f = ` + string(fj) + `;
		for (const k in f) fd.append(k, f[k]);
		fd.append("file", new Blob(["posted by a form"]), "x.txt");
		return fetch(` + jsString(t, u.String()) + `, {method: "POST", body: fd}).then(r => "status " + r.status); })()`
}

func jsString(t *testing.T, s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// browserRun runs a script giving a promise in the page and returns what
// it resolved to, or "error: " and what it was rejected with.
func browserRun(t *testing.T, ctx context.Context, promise string) string {
	t.Helper()
	start := `window.__result = undefined; Promise.resolve().then(() => ` + promise + `).then(v => window.__result = String(v), e => window.__result = "error: " + e); true`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](start)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.__result || ""`)); err == nil && s != "" {
			return s
		}
	}
	t.Fatalf("no result from %s", promise)
	return ""
}

// startChromium starts a headless chromium for the test (--no-sandbox only
// as root, which chromium requires) and closes it in Cleanup.
func startChromium(t *testing.T, path string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}
