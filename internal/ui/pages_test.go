package ui_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestAccountsSeeOnlyTheirOwn tries bob's bucket and object through every
// page and action of alice's session.
func TestAccountsSeeOnlyTheirOwn(t *testing.T) {
	e := start(t, false)
	e.mkBucket(t, e.bobKey, e.bobSecret, "bob-private")
	e.put(t, e.bobKey, e.bobSecret, "bob-private", "dir/secret.txt", "bob's secret words", nil)
	e.mkBucket(t, e.aliceKey, e.aliceSecret, "alice-own")
	alice := e.login(t, e.aliceKey, e.aliceSecret)

	code, body := alice.get("/ui/buckets")
	if code != http.StatusOK || !strings.Contains(body, "alice-own") || strings.Contains(body, "bob-private") {
		t.Errorf("alice's bucket list (%d) shows bob's bucket or misses her own:\n%s", code, body)
	}
	k := url.QueryEscape("dir/secret.txt")
	for _, p := range []string{"/ui/b/bob-private/", "/ui/b/bob-private/?prefix=dir/", "/ui/b/bob-private/object?key=" + k,
		"/ui/b/bob-private/download?key=" + k, "/ui/b/bob-private/image?key=" + k} {
		code, body := alice.get(p)
		if code != http.StatusNotFound || strings.Contains(body, "secret words") || strings.Contains(body, "secret.txt") {
			t.Errorf("GET %s as alice: %d, want 404 showing nothing of bob's:\n%s", p, code, body)
		}
	}
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/ui/b/bob-private/delete", url.Values{"key": {"dir/secret.txt"}}},
		{"/ui/b/bob-private/run", url.Values{"key": {"dir/secret.txt"}, "app": {"root/wc"}}},
		{"/ui/buckets/bob-private/delete", nil},
	} {
		resp := alice.change(p.path, p.form)
		if b := bodyOf(resp); resp.StatusCode != http.StatusNotFound || strings.Contains(b, "secret words") {
			t.Errorf("POST %s as alice: %d, want 404:\n%s", p.path, resp.StatusCode, b)
		}
	}
	resp := alice.presign("bob-private", `{"key":"x","size":3}`)
	if resp.StatusCode != http.StatusNotFound || strings.Contains(bodyOf(resp), "X-Amz-Signature") {
		t.Errorf("presign in bob's bucket as alice: %d", resp.StatusCode)
	}
	// Creating a bucket of bob's name is refused without touching his.
	if resp := alice.change("/ui/buckets", url.Values{"name": {"bob-private"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("alice creating bob's bucket name: %d, want 409", resp.StatusCode)
	}
	got, err := e.node.S3(e.bobKey, e.bobSecret).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("bob-private"), Key: aws.String("dir/secret.txt")})
	if err != nil {
		t.Fatalf("bob's object is gone: %v", err)
	}
	got.Body.Close()
	if code, _ := alice.get("/ui/accounts"); code != http.StatusForbidden {
		t.Errorf("alice opened the accounts page: %d", code)
	}
	root := e.login(t, e.node.AccessKey, e.node.SecretKey)
	if code, body := root.get("/ui/accounts"); code != http.StatusOK || !strings.Contains(body, "alice") || strings.Contains(body, e.aliceSecret) {
		t.Errorf("root's accounts page: %d (must list alice, never a secret)", code)
	}
	if code, body := root.get("/ui/buckets"); code != http.StatusOK || strings.Contains(body, "bob-private") {
		t.Errorf("root sees bob's bucket in its list: root has no bypass")
	}
}

// presign posts the upload script's question.
func (b *browser) presign(bucket, body string) *http.Response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+"/ui/b/"+bucket+"/presign", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", b.csrf)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func TestHostileKeysAreEscaped(t *testing.T) {
	e := start(t, false)
	e.mkBucket(t, e.aliceKey, e.aliceSecret, "hostile")
	key := `<script>alert("k")</script>/"><img src=x onerror=alert(1)>.txt`
	e.put(t, e.aliceKey, e.aliceSecret, "hostile", key, `<script>alert("body")</script>`, map[string]string{"note": `<script>alert("meta")</script>`})
	alice := e.login(t, e.aliceKey, e.aliceSecret)
	pages := []string{"/ui/b/hostile/", "/ui/b/hostile/?prefix=" + url.QueryEscape(`<script>alert("k")</script>/`),
		"/ui/b/hostile/object?key=" + url.QueryEscape(key)}
	for _, p := range pages {
		code, body := alice.get(p)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", p, code, body)
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("GET %s renders markup from a key, metadata or body:\n%s", p, body)
		}
		if !strings.Contains(body, "&lt;script&gt;alert") {
			t.Errorf("GET %s does not show the key as text:\n%s", p, body)
		}
	}
}

func TestObjectsPaginate(t *testing.T) {
	e := start(t, false)
	e.mkBucket(t, e.aliceKey, e.aliceSecret, "many")
	for i := 0; i < 230; i++ {
		e.put(t, e.aliceKey, e.aliceSecret, "many", fmt.Sprintf("k%03d", i), "x", nil)
	}
	e.put(t, e.aliceKey, e.aliceSecret, "many", "sub/inner", "x", nil)
	alice := e.login(t, e.aliceKey, e.aliceSecret)
	seen, next, pages := 0, "/ui/b/many/", 0
	for next != "" {
		code, body := alice.get(next)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d", next, code)
		}
		n := strings.Count(body, `class="key"`) + strings.Count(body, `class="prefix"`)
		if n > 100 {
			t.Fatalf("a page shows %d entries, want at most 100", n)
		}
		seen += n
		pages++
		next = ""
		if i := strings.Index(body, `id="next" href="`); i >= 0 {
			rest := body[i+len(`id="next" href="`):]
			next = strings.ReplaceAll(rest[:strings.IndexByte(rest, '"')], "&amp;", "&")
		}
	}
	if seen != 231 || pages != 3 {
		t.Errorf("saw %d entries in %d pages, want 231 (230 keys and the sub/ prefix) in 3", seen, pages)
	}
	if code, _ := alice.get("/ui/b/many/?token=!!!"); code != http.StatusBadRequest {
		t.Errorf("a damaged token: %d, want 400", code)
	}
}

func TestRunOnObjectPage(t *testing.T) {
	e := start(t, false)
	e.mkBucket(t, e.aliceKey, e.aliceSecret, "docs")
	e.put(t, e.aliceKey, e.aliceSecret, "docs", "a.txt", "one two three\nfour five\n", nil)
	alice := e.login(t, e.aliceKey, e.aliceSecret)
	resp := alice.change("/ui/b/docs/run", url.Values{"key": {"a.txt"}, "app": {"root/wc"}})
	body := bodyOf(resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<pre id="stdout">2 5 24`) || !strings.Contains(body, "exited (exit 0)") {
		t.Fatalf("run wc: %d\n%s", resp.StatusCode, body)
	}
	resp = alice.change("/ui/b/docs/run", url.Values{"key": {"a.txt"}, "app": {"no-such-app"}})
	if body := bodyOf(resp); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no app of that name") || strings.Contains(body, "goroutine") {
		t.Errorf("run a missing app: %d\n%s", resp.StatusCode, body)
	}
}

// uploadThroughPresign does what upload.js does, with net/http.
func uploadThroughPresign(t *testing.T, e *env, b *browser, bucket, key string, data []byte) {
	t.Helper()
	ask := func(q map[string]any) map[string]any {
		body, _ := json.Marshal(q)
		resp := b.presign(bucket, string(body))
		var a map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("presign %v: %d %v", q, resp.StatusCode, a)
		}
		return a
	}
	send := func(method, u string, body []byte, ct string) *http.Response {
		req, _ := http.NewRequest(method, u, bytes.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := e.node.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, b)
		}
		return resp
	}
	q := map[string]any{"key": key, "size": len(data), "type": "application/octet-stream"}
	a := ask(q)
	if put, ok := a["put"].(string); ok {
		send(http.MethodPut, put, data, "application/octet-stream")
		return
	}
	var created struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.NewDecoder(send(http.MethodPost, a["create"].(string), nil, "application/octet-stream").Body).Decode(&created); err != nil {
		t.Fatal(err)
	}
	q["upload_id"] = created.UploadID
	a = ask(q)
	ps := int(a["part_size"].(float64))
	var parts strings.Builder
	for i, u := range a["parts"].([]any) {
		end := min(len(data), (i+1)*ps)
		resp := send(http.MethodPut, u.(string), data[i*ps:end], "")
		fmt.Fprintf(&parts, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, resp.Header.Get("ETag"))
	}
	send(http.MethodPost, a["complete"].(string), []byte("<CompleteMultipartUpload>"+parts.String()+"</CompleteMultipartUpload>"), "application/xml")
}

func TestPresignedUploads(t *testing.T) {
	for _, tls := range []bool{false, true} {
		e := start(t, tls)
		e.mkBucket(t, e.aliceKey, e.aliceSecret, "upl")
		alice := e.login(t, e.aliceKey, e.aliceSecret)
		for _, size := range []int{0, 5, 16 << 20, 20<<20 + 3} {
			data := make([]byte, size)
			_, _ = rand.Read(data)
			key := fmt.Sprintf("dir/with space+%d é=,;:@$&!*'()[]#?%%.bin", size)
			uploadThroughPresign(t, e, alice, "upl", key, data)
			got, err := e.node.S3(e.aliceKey, e.aliceSecret).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("upl"), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("tls=%v size %d: %v", tls, size, err)
			}
			b, _ := io.ReadAll(got.Body)
			got.Body.Close()
			if !bytes.Equal(b, data) {
				t.Errorf("tls=%v size %d: read back %d bytes that differ", tls, size, len(b))
			}
		}
	}
}

func TestPreviewAndDownload(t *testing.T) {
	e := start(t, false)
	e.mkBucket(t, e.aliceKey, e.aliceSecret, "media")
	s3c := e.node.S3(e.aliceKey, e.aliceSecret)
	png := []byte("\x89PNG\r\n\x1a\n0000")
	for key, ct := range map[string]string{"pic.png": "image/png", "pic.svg": "image/svg+xml", "bin.dat": "application/octet-stream"} {
		body := png
		if key == "pic.svg" {
			body = []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)
		}
		if key == "bin.dat" {
			body = []byte{0, 1, 2, 3}
		}
		if _, err := s3c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("media"), Key: aws.String(key), Body: bytes.NewReader(body), ContentType: aws.String(ct)}); err != nil {
			t.Fatal(err)
		}
	}
	long := strings.Repeat("0123456789abcde\n", 100<<10/16)
	e.put(t, e.aliceKey, e.aliceSecret, "media", "long.txt", long, nil)
	alice := e.login(t, e.aliceKey, e.aliceSecret)

	if code, body := alice.get("/ui/b/media/object?key=pic.png"); code != http.StatusOK || !strings.Contains(body, `src="/ui/b/media/image?key=pic.png"`) {
		t.Errorf("png object page: %d, no image preview", code)
	}
	req, _ := http.NewRequest(http.MethodGet, alice.base+"/ui/b/media/image?key=pic.png", nil)
	resp := alice.do(req)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("X-Content-Type-Options") != "nosniff" || bodyOf(resp) != string(png) {
		t.Errorf("png preview: %d %v", resp.StatusCode, resp.Header)
	}
	if code, _ := alice.get("/ui/b/media/image?key=pic.svg"); code != http.StatusUnsupportedMediaType {
		t.Errorf("svg as an inline image: %d, want 415", code)
	}
	req, _ = http.NewRequest(http.MethodGet, alice.base+"/ui/b/media/download?key=pic.svg", nil)
	resp = alice.do(req)
	if resp.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download of svg: %v, want an octet-stream attachment", resp.Header)
	}
	if code, body := alice.get("/ui/b/media/object?key=bin.dat"); code != http.StatusOK || !strings.Contains(body, "No preview for this object") {
		t.Errorf("binary object page: %d, want no preview", code)
	}
	code, body := alice.get("/ui/b/media/object?key=long.txt")
	pre := body[strings.Index(body, `id="preview">`)+len(`id="preview">`):]
	pre = pre[:strings.Index(pre, "</pre>")]
	if code != http.StatusOK || len(pre) != 64<<10 || !strings.Contains(body, "Showing the first 64 KiB") {
		t.Errorf("long text preview: %d, %d bytes shown, want 65536 and a note", code, len(pre))
	}
	if code, body := alice.get("/ui/b/media/object?key=missing"); code != http.StatusNotFound || !strings.Contains(body, "no object with that key") {
		t.Errorf("missing object: %d", code)
	}
	if code, _ := alice.get("/ui/no/such/page"); code != http.StatusNotFound {
		t.Errorf("unknown dashboard page: %d", code)
	}
}
