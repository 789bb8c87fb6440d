package ui_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// newChromium starts one headless Debian chromium for the test and closes
// it in Cleanup. --no-sandbox only when running as root (chromium refuses
// root otherwise).
func newChromium(t *testing.T) context.Context {
	t.Helper()
	path := testtool.Need(t, "chromium", "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start it now, outside any timeout
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// shots is where the page screenshots go: $INSITU_UI_SHOTS or a temp dir.
func shots(t *testing.T) string {
	if d := os.Getenv("INSITU_UI_SHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// shoot saves a full-page PNG of the current page as name.png, at laptop
// width and, as name-phone.png, at phone width.
func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	for _, w := range []struct {
		suffix string
		w, h   int64
	}{{"", 1280, 900}, {"-phone", 390, 844}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(w.w, w.h)); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+w.suffix+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// setFiles picks files in the file input sel. Right after a page reloads
// itself (upload.js does when its uploads are done) the browser's DOM
// handle may still be the old page's, whose nodes are gone ("Could not
// find node with given id"; CI10 met it): the pick is retried on that
// error for up to 20 s.
func setFiles(t *testing.T, ctx context.Context, what, sel string, files ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := chromedp.Do(tctx, chromedp.SetUploadFiles(chromedp.CSS(sel), files))
		cancel()
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "Could not find node") || time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitFor evaluates expr until it is true, through page loads, for up
// to 2 minutes.
func waitFor(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("waited 2 minutes for %s", expr)
}

// waitString evaluates expr until it gives a non-empty string, through
// page loads, for up to 2 minutes, and returns it.
func waitString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr)); err == nil && s != "" {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("waited 2 minutes for %s", expr)
	return ""
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestBrowser drives the dashboard in chromium: sign in, create a bucket,
// upload a 20 MiB file (multipart) and a small one (single PUT) through
// the page, compare the bytes through the S3 API, run wc on the big one
// from its object page, start a word count job and watch it succeed live,
// watch a service's stats move, open the runs pages, remove a throwaway
// account after the confirmation step, sign out, and find
// the old cookie useless.
func TestBrowser(t *testing.T) {
	ctx := newChromium(t)
	e := start(t, false, func(c *app.Config) { c.UI.LiveEvery = 100 * time.Millisecond })
	dir := shots(t)
	base := e.node.Endpoint()

	do(t, ctx, "sign-in page", chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
	shoot(t, ctx, dir, "login")
	do(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#access_key"), e.node.AccessKey),
		chromedp.SendKeys(chromedp.CSS("#secret_key"), e.node.SecretKey),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#under")))
	shoot(t, ctx, dir, "overview")
	if js, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.cookie")); strings.Contains(js, "insitu_session") {
		t.Errorf("the page's script can read the session cookie: %q", js)
	}

	do(t, ctx, "create a bucket",
		chromedp.Navigate(base+"/ui/buckets"), chromedp.WaitVisible(chromedp.CSS("#bucket-name")),
		chromedp.SendKeys(chromedp.CSS("#bucket-name"), "from-browser"),
		chromedp.Click(chromedp.CSS("#create-bucket")),
		chromedp.WaitVisible(chromedp.CSS("#drop")))

	small := browserUpload(t, ctx, e, dir)

	do(t, ctx, "run wc on big.bin",
		chromedp.Click(chromedp.Search(`//a[text()="big.bin"]`)),
		chromedp.WaitVisible(chromedp.CSS("#run")),
		chromedp.Click(chromedp.CSS("#run")),
		chromedp.WaitVisible(chromedp.CSS("#stdout")))
	if out, st := text(t, ctx, "#stdout"), text(t, ctx, "#status"); !strings.Contains(out, "20971520") || !strings.Contains(st, "exit 0") {
		t.Errorf("wc on big.bin: stdout %q, status %q; want the byte count 20971520 and exit 0", out, st)
	}
	shoot(t, ctx, dir, "object")

	do(t, ctx, "text preview",
		chromedp.Navigate(base+"/ui/b/from-browser/object?key=words.txt"), chromedp.WaitVisible(chromedp.CSS("#preview")))
	if p := text(t, ctx, "#preview"); p != string(small) {
		t.Errorf("preview %q, want %q", p, small)
	}
	do(t, ctx, "accounts", chromedp.Navigate(base+"/ui/accounts"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	shoot(t, ctx, dir, "accounts")
	browserRemoveAccount(t, ctx, e, dir)
	do(t, ctx, "buckets", chromedp.Navigate(base+"/ui/buckets"), chromedp.WaitVisible(chromedp.CSS("#bucket-name")))
	shoot(t, ctx, dir, "buckets")

	browserApps(t, ctx, e, dir)
	browserJob(t, ctx, e, dir)
	browserService(t, ctx, e, dir)
	browserRuns(t, ctx, e, dir)
	browserSignOut(t, ctx, e)
	t.Logf("screenshots in %s", dir)
}

// browserUpload uploads a 20 MiB file (multipart) and a small text file
// (one PUT) through the page's file picker and compares both through the
// S3 API; it returns the small file's bytes.
func browserUpload(t *testing.T, ctx context.Context, e *env, dir string) []byte {
	files := t.TempDir()
	big := make([]byte, 20<<20)
	_, _ = rand.Read(big)
	small := []byte("the quick brown fox\njumps over the lazy dog\n")
	for name, b := range map[string][]byte{"big.bin": big, "words.txt": small} {
		if err := os.WriteFile(filepath.Join(files, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"big.bin", "words.txt"} {
		setFiles(t, ctx, "upload "+name, "#files", filepath.Join(files, name))
		// The page reloads when its uploads are done: poll across it, each
		// look one evaluation in one page (a node found on the page being
		// replaced would be gone by the time it is read).
		if got := waitString(t, ctx, `document.body.dataset.uploaded == "failed" ? "failed: " + document.getElementById("uploads").textContent :
			[...document.querySelectorAll("a.key")].some(a => a.textContent == "`+name+`") ? "ok" : ""`); got != "ok" {
			t.Fatalf("upload %s: %s", name, got)
		}
	}
	// Drag and drop: a file made in the page, dropped on the drop zone once
	// upload.js has run (the listed keys come before the script in the
	// page, so they alone do not say a drop would be heard).
	waitFor(t, ctx, `document.readyState == "complete" && [...document.querySelectorAll("a.key")].some(a => a.textContent == "words.txt")`)
	const dropJS = `(() => {
		const b = new Uint8Array(300000); for (let i = 0; i < b.length; i++) b[i] = i % 251;
		const dt = new DataTransfer(); dt.items.add(new File([b], "dropped.bin"));
		document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		return true })()`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](dropJS)); err != nil {
		t.Fatalf("drop: %v", err)
	}
	waitFor(t, ctx, `[...document.querySelectorAll("a.key")].some(a => a.textContent == "dropped.bin")`)
	dropped := make([]byte, 300000)
	for i := range dropped {
		dropped[i] = byte(i % 251)
	}
	shoot(t, ctx, dir, "objects")
	for name, want := range map[string][]byte{"big.bin": big, "words.txt": small, "dropped.bin": dropped} {
		out, err := e.node.S3("", "").GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("from-browser"), Key: aws.String(name)})
		if err != nil {
			t.Fatalf("get %s through S3: %v", name, err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, want) {
			t.Fatalf("%s through S3: %d bytes that differ from the %d uploaded", name, len(got), len(want))
		}
		if name == "big.bin" && (out.ETag == nil || !strings.HasSuffix(strings.Trim(*out.ETag, `"`), "-3")) {
			t.Errorf("big.bin ETag %v: want a 3-part multipart ETag", aws.ToString(out.ETag))
		}
	}

	return small
}

// browserSignOut signs out and checks the cookie the browser held is
// refused afterwards.
func browserSignOut(t *testing.T, ctx context.Context, e *env) {
	base := e.node.Endpoint()
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/ui/"}})
	if err != nil || len(cookies.Cookies) != 1 {
		t.Fatalf("cookies: %v %v", cookies, err)
	}
	old := cookies.Cookies[0]
	do(t, ctx, "sign out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#signin")))
	req, _ := http.NewRequest(http.MethodGet, base+"/ui/buckets", nil)
	req.AddCookie(&http.Cookie{Name: old.Name, Value: old.Value})
	c := e.node.HTTPClient()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login" {
		t.Errorf("the old cookie after signing out: %d %s, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}
}
