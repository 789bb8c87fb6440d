package ui_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// clock is a settable clock for session expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a node with root, alice and bob.
type env struct {
	node                  *apptest.Node
	clock                 *clock
	root                  *client.Client
	aliceKey, aliceSecret string
	bobKey, bobSecret     string
}

// start runs a node with the example apps seeded and the dashboard on a
// test clock (then applies more to its config), and adds alice and bob.
func start(t *testing.T, tls bool, more ...func(*app.Config)) *env {
	t.Helper()
	mod, err := testtool.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clock: &clock{t: time.Now()}}
	e.node = apptest.Start(t, apptest.Options{TLS: tls, Configure: func(c *app.Config) {
		c.SeedApps = filepath.Join(mod, "examples", "apps")
		c.UI.Now = e.clock.Now
		for _, f := range more {
			f(c)
		}
	}})
	e.root, err = client.New(client.Config{Endpoint: e.node.Endpoint(), AccessKey: e.node.AccessKey, SecretKey: e.node.SecretKey,
		Region: e.node.Region, HTTPClient: e.node.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, who := range []struct {
		name   string
		ak, sk *string
	}{{"alice", &e.aliceKey, &e.aliceSecret}, {"bob", &e.bobKey, &e.bobSecret}} {
		k, err := e.root.CreateUser(ctx, who.name)
		if err != nil {
			t.Fatalf("create %s: %v", who.name, err)
		}
		*who.ak, *who.sk = k.AccessKey, k.SecretKey
	}
	return e
}

// browser is a signed-in HTTP client that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func (e *env) newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	c := e.node.HTTPClient()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, base: e.node.Endpoint(), c: c}
}

// login signs in and remembers the CSRF token; it fails the test unless
// the sign-in succeeded.
func (e *env) login(t *testing.T, ak, sk string) *browser {
	t.Helper()
	b := e.newBrowser(t)
	resp := b.postForm("/ui/login", url.Values{"access_key": {ak}, "secret_key": {sk}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	b.csrf = b.token()
	return b
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token reads the CSRF token from the buckets page.
func (b *browser) token() string {
	b.t.Helper()
	code, body := b.get("/ui/buckets")
	m := csrfRE.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		b.t.Fatalf("no CSRF token on the buckets page (%d)", code)
	}
	return m[1]
}

func (b *browser) do(req *http.Request) *http.Response {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

// get returns the status and body of a GET.
func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	resp := b.do(req)
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// postForm posts form with extra headers (same-origin by default, as a
// browser sends it).
func (b *browser) postForm(path string, form url.Values, hdr map[string]string) *http.Response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return b.do(req)
}

// change posts form with the session's CSRF token.
func (b *browser) change(path string, form url.Values) *http.Response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf)
	return b.postForm(path, form, nil)
}

func bodyOf(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// put stores an object through the S3 API.
func (e *env) put(t *testing.T, ak, sk, bucket, key, body string, meta map[string]string) {
	t.Helper()
	_, err := e.node.S3(ak, sk).PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(body), ContentType: aws.String("text/plain"), Metadata: meta})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

func (e *env) mkBucket(t *testing.T, ak, sk, bucket string) {
	t.Helper()
	if _, err := e.node.S3(ak, sk).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
}
