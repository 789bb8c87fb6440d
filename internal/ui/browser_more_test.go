package ui_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/testtool"

	"github.com/chromedp/chromedp"
)

// markPage tags the current document so a later look can tell it was
// updated in place, not reloaded.
const markPage = `window.insituMark = 1; true`

// browserJob starts a word count job from the jobs page's form and watches
// its page reach succeeded without a reload, by patches of the parts that
// changed (TestBrowser's streams tick every 100 ms).
func browserJob(t *testing.T, ctx context.Context, e *env, dir string) {
	base := e.node.Endpoint()
	for i, words := range []string{"the cat sat on the mat\n", "the dog ate the cat\n", "a cat\n"} {
		e.put(t, e.node.AccessKey, e.node.SecretKey, "from-browser", "books/"+string(rune('a'+i))+".txt", words, nil)
	}
	do(t, ctx, "jobs page", chromedp.Navigate(base+"/ui/jobs"), chromedp.WaitVisible(chromedp.CSS("#job-input")))
	shoot(t, ctx, dir, "jobs")
	do(t, ctx, "start a job",
		chromedp.SendKeys(chromedp.CSS("#job-input"), "s3://from-browser/books/"),
		chromedp.SendKeys(chromedp.CSS("#job-out"), "s3://from-browser/counts/"),
		chromedp.Click(chromedp.CSS("#start-job")),
		chromedp.WaitVisible(chromedp.CSS("#job-graph")))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](markPage)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.getElementById("job-state").textContent == "succeeded" && window.insituMark == 1`)
	if how := waitString(t, ctx, `document.getElementById("progress").dataset.live || "none"`); how != "events" {
		t.Errorf("the job page followed the job by %q, want server-sent events", how)
	}
	if n := waitString(t, ctx, `document.getElementById("progress").dataset.patches || "0"`); n == "0" {
		t.Errorf("the job page applied no patch of changed parts")
	}
	if n := waitString(t, ctx, `String(document.querySelectorAll("#tasks tr.state-succeeded").length)`); n != "4" {
		t.Errorf("succeeded tasks on the page: %s, want 4 (3 maps, 1 reduce)", n)
	}
	do(t, ctx, "open the output", chromedp.Click(chromedp.CSS("#job-outputs a")), chromedp.WaitVisible(chromedp.CSS("#preview")))
	if out := text(t, ctx, "#preview"); !strings.Contains(out, "cat\t3") || !strings.Contains(out, "the\t4") {
		t.Errorf("word counts %q, want cat 3 and the 4", out)
	}
	do(t, ctx, "back to the job", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS("#job-graph")))
	shoot(t, ctx, dir, "job")
}

// browserService creates a service from the form and watches its request
// count and histogram move, in place, as requests arrive.
func browserService(t *testing.T, ctx context.Context, e *env, dir string) {
	base := e.node.Endpoint()
	e.pushHello(t, e.root)
	do(t, ctx, "create a service",
		chromedp.Navigate(base+"/ui/services"), chromedp.WaitVisible(chromedp.CSS("#svc-name")),
		chromedp.SendKeys(chromedp.CSS("#svc-name"), "greet"),
		chromedp.SendKeys(chromedp.CSS("#svc-app"), "hello"),
		chromedp.Click(chromedp.CSS("#svc-public")),
		chromedp.Click(chromedp.CSS("#create-svc")),
		chromedp.WaitVisible(chromedp.CSS("#svc-hist")))
	// One evaluation per look: live.js replaces these nodes every second.
	if got := waitString(t, ctx, `document.getElementById("svc-requests").textContent`); got != "0" {
		t.Fatalf("a new service shows %s requests", got)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](markPage)); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if code := e.get(t, "/svc/greet/"); code != http.StatusOK {
			t.Fatalf("GET /svc/greet/: %d", code)
		}
	}
	waitFor(t, ctx, `document.getElementById("svc-requests").textContent == "5" && window.insituMark == 1`)
	if how := waitString(t, ctx, `document.getElementById("live").dataset.live || "none"`); how != "events" {
		t.Errorf("the service page followed its stats by %q, want server-sent events", how)
	}
	if h := waitString(t, ctx, `String([...document.querySelectorAll("#svc-hist rect")].filter(r => +r.getAttribute("height") > 0).length)`); h == "0" {
		t.Errorf("the latency histogram has no bar after 5 requests")
	}
	shoot(t, ctx, dir, "service")
	do(t, ctx, "services list", chromedp.Navigate(base+"/ui/services"), chromedp.WaitVisible(chromedp.CSS("#services")))
	shoot(t, ctx, dir, "services")
}

// browserRuns opens the runs list (the job's and service's runs are there)
// and one run's page, then the instances page (no boot: QEMU is slow here;
// instances_test.go covers those pages over HTTP).
func browserRuns(t *testing.T, ctx context.Context, e *env, dir string) {
	do(t, ctx, "runs page", chromedp.Navigate(e.node.Endpoint()+"/ui/runs"), chromedp.WaitVisible(chromedp.CSS("#runs")))
	shoot(t, ctx, dir, "runs")
	do(t, ctx, "a run's page", chromedp.Click(chromedp.CSS("#runs tbody a")), chromedp.WaitVisible(chromedp.CSS("#record")))
	if st := text(t, ctx, "#status"); !strings.Contains(st, "exit 0") {
		t.Errorf("the newest run's status: %q", st)
	}
	shoot(t, ctx, dir, "run")
	do(t, ctx, "instances page", chromedp.Navigate(e.node.Endpoint()+"/ui/instances"), chromedp.WaitVisible(chromedp.CSS("#launch-form")))
	shoot(t, ctx, dir, "instances")
}

// browserApps pushes a module with its manifest from the apps page, binds
// text/plain to it on the bucket page, and opens words.txt with it from
// the object page; then shows an error page.
func browserApps(t *testing.T, ctx context.Context, e *env, dir string) {
	base := e.node.Endpoint()
	mod, err := testtool.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "push an app",
		chromedp.Navigate(base+"/ui/apps"), chromedp.WaitVisible(chromedp.CSS("#push-form")),
		chromedp.SendKeys(chromedp.CSS("#app-name"), "shout"),
		chromedp.SendKeys(chromedp.CSS("#app-version"), "1.0"),
		chromedp.SendKeys(chromedp.CSS("#app-manifest"), `{"description": "upper-cases its input", "content_types": ["text/*"]}`),
		chromedp.SetUploadFiles(chromedp.CSS("#app-wasm"), []string{filepath.Join(mod, "examples", "apps", "upper", "upper.wasm")}),
		chromedp.Click(chromedp.CSS("#push-app")),
		chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if n := text(t, ctx, "p.notice"); n != "Pushed shout:1.0." {
		t.Errorf("after the push: %q", n)
	}
	shoot(t, ctx, dir, "apps")
	do(t, ctx, "bind text/plain",
		chromedp.Navigate(base+"/ui/b/from-browser/"), chromedp.WaitVisible(chromedp.CSS("#drop")),
		chromedp.Click(chromedp.CSS("#open-with summary")),
		chromedp.SendKeys(chromedp.CSS("#ow-type"), "text/plain"),
		chromedp.SendKeys(chromedp.CSS("#ow-app"), "shout"),
		chromedp.Click(chromedp.CSS("#ow-set")))
	// #bindings is on the page before the post too: wait for the page the
	// post answers (navigating away while it loads aborts the navigation).
	waitFor(t, ctx, `document.readyState == "complete" && [...document.querySelectorAll("#bindings td")].some(td => td.textContent == "shout")`)
	do(t, ctx, "open words.txt",
		chromedp.Navigate(base+"/ui/b/from-browser/object?key=words.txt"), chromedp.WaitVisible(chromedp.CSS("#open-with-run")),
		chromedp.Click(chromedp.CSS("#open-with-run")),
		chromedp.WaitVisible(chromedp.CSS("#stdout")))
	if out := text(t, ctx, "#stdout"); !strings.HasPrefix(out, "THE QUICK BROWN FOX") {
		t.Errorf("words.txt opened with shout: %q", out)
	}
	shoot(t, ctx, dir, "object-open-with")
	do(t, ctx, "an error page", chromedp.Navigate(base+"/ui/b/no-such-bucket/"), chromedp.WaitVisible(chromedp.CSS("p.error")))
	if msg := text(t, ctx, "p.error"); msg != "You have no bucket of that name." {
		t.Errorf("error page says %q", msg)
	}
	shoot(t, ctx, dir, "error")
}
