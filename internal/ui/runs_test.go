package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/client"
)

// as is a native API client for one account.
func (e *env) as(t *testing.T, ak, sk string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Endpoint: e.node.Endpoint(), AccessKey: ak, SecretKey: sk, Region: e.node.Region, HTTPClient: e.node.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runWC runs root/wc on data and returns the record id.
func runWC(t *testing.T, c *client.Client, data string, out string) string {
	t.Helper()
	rec, err := c.Run(context.Background(), client.RunSpec{App: "root/wc", StdinData: data, Stdout: out}, io.Discard, io.Discard)
	if err != nil {
		t.Fatalf("run wc: %v", err)
	}
	return rec.ID
}

// TestRunPages lists, filters, pages and opens runs, and never shows
// bob's.
func TestRunPages(t *testing.T) {
	e := start(t, false)
	alice, bob := e.as(t, e.aliceKey, e.aliceSecret), e.as(t, e.bobKey, e.bobSecret)
	e.mkBucket(t, e.aliceKey, e.aliceSecret, "res")
	first := runWC(t, alice, "one two\n", "s3://res/counts/first.txt")
	for range runsPerPage {
		runWC(t, alice, "a b c\n", "")
	}
	bobRun := runWC(t, bob, "bob's words\n", "")
	b := e.login(t, e.aliceKey, e.aliceSecret)

	code, body := b.get("/ui/runs")
	if code != http.StatusOK || strings.Count(body, `href="/ui/runs/`) < runsPerPage || strings.Contains(body, bobRun) {
		t.Fatalf("runs page (%d) misses alice's runs or shows bob's:\n%s", code, body)
	}
	if !strings.Contains(body, "<svg") || !strings.Contains(body, `<circle class="ok"`) || !strings.Contains(body, `id="next"`) {
		t.Errorf("runs page has no duration plot or no next page link")
	}
	next := nextLink(t, body)
	code, body = b.get(next)
	if code != http.StatusOK || !strings.Contains(body, "/ui/runs/"+first) {
		t.Errorf("the second page (%s, %d) misses the oldest run", next, code)
	}
	if _, body := b.get("/ui/runs?status=failed"); strings.Contains(body, `href="/ui/runs/0`) || !strings.Contains(body, "No runs match") {
		t.Errorf("status=failed shows alice's successful runs")
	}
	if _, body := b.get("/ui/runs?app=no-such&node=local"); !strings.Contains(body, "No runs match") {
		t.Errorf("app filter keeps runs of another app")
	}
	if _, body := b.get("/ui/runs?until=2001-01-01T00:00"); !strings.Contains(body, "No runs match") {
		t.Errorf("until in 2001 shows runs")
	}
	if code, body := b.get("/ui/runs?since=yesterday"); code != http.StatusBadRequest || !strings.Contains(body, "UTC") {
		t.Errorf("a bad time: %d", code)
	}
	if _, body := b.get("/ui/runs?app=" + url.QueryEscape(`<script>x()</script>`)); strings.Contains(body, "<script>x()") {
		t.Errorf("the app filter is echoed unescaped")
	}

	code, body = b.get("/ui/runs/" + first)
	for _, want := range []string{"root/wc", "exited (exit 0)", "s3://res/counts/first.txt", `href="/ui/b/res/object?key=counts%2Ffirst.txt"`, "Peak memory", "timeout"} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("run detail (%d) lacks %q:\n%s", code, want, body)
		}
	}
	if code, body := b.get("/ui/runs/" + bobRun); code != http.StatusNotFound || strings.Contains(body, "bob") {
		t.Errorf("alice opening bob's run: %d\n%s", code, body)
	}
}

// runsPerPage is the dashboard's page of runs.
const runsPerPage = 50

var nextRE = strings.NewReplacer("&amp;", "&")

func nextLink(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `id="next" href="`)
	if i < 0 {
		t.Fatal("no next link")
	}
	rest := body[i+len(`id="next" href="`):]
	return nextRE.Replace(rest[:strings.IndexByte(rest, '"')])
}
