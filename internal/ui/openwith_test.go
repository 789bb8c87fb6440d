package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestOpenWithPages binds a content type to an app from the bucket page,
// opens an object with it from the object page, refuses bad bindings in
// words, keeps bob out of alice's bindings, and removes the binding.
func TestOpenWithPages(t *testing.T) {
	e := start(t, false)
	e.mkBucket(t, e.aliceKey, e.aliceSecret, "notes")
	e.put(t, e.aliceKey, e.aliceSecret, "notes", "a.txt", "hello world\n", nil)
	b := e.login(t, e.aliceKey, e.aliceSecret)
	obj := "/ui/b/notes/object?key=a.txt"
	if _, body := b.get(obj); strings.Contains(body, "open-with-run") {
		t.Fatalf("the object page offers Open before any binding")
	}
	resp := b.change("/ui/b/notes/open-with", url.Values{"content_type": {"Text/Plain"}, "app": {"upper"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/b/notes/?") {
		t.Fatalf("bind: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), bodyOf(resp))
	}
	if _, body := b.get("/ui/b/notes/"); !strings.Contains(body, "<tr><td>text/plain</td><td>upper</td>") {
		t.Errorf("the bucket page does not list the binding")
	}
	_, body := b.get(obj)
	if !strings.Contains(body, `id="open-with-run" type="submit">Open with upper</button>`) {
		t.Fatalf("the object page offers no Open with upper:\n%s", body)
	}
	resp = b.change("/ui/b/notes/run", url.Values{"key": {"a.txt"}, "open": {"1"}, "app": {"wc"}})
	if body := bodyOf(resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, `<pre id="stdout">HELLO WORLD`) {
		t.Errorf("open with upper: %d\n%s", resp.StatusCode, body)
	}

	for _, bad := range []struct {
		form   url.Values
		status int
		want   string
	}{
		{url.Values{"content_type": {"<script>x()</script>"}, "app": {"upper"}}, http.StatusBadRequest, "A content type looks like"},
		{url.Values{"content_type": {"image/*"}, "app": {"<script>x()</script>"}}, http.StatusBadRequest, "That is not an app name"},
		{url.Values{"content_type": {"image/*"}, "app": {"nosuchapp"}}, http.StatusNotFound, "There is no app of that name"},
		{url.Values{"content_type": {"image/*"}}, http.StatusBadRequest, "Name the app that opens image/*"},
	} {
		resp := b.change("/ui/b/notes/open-with", bad.form)
		body := bodyOf(resp)
		if resp.StatusCode != bad.status || !strings.Contains(body, bad.want) || strings.Contains(body, "<script>x()") {
			t.Errorf("bind %v: %d, want %d with %q, escaped:\n%s", bad.form, resp.StatusCode, bad.status, bad.want, body)
		}
	}

	bob := e.login(t, e.bobKey, e.bobSecret)
	for _, p := range []string{"/ui/b/notes/open-with", "/ui/b/notes/open-with/delete"} {
		resp := bob.change(p, url.Values{"content_type": {"text/plain"}, "app": {"wc"}})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("bob POST %s: %d, want 404", p, resp.StatusCode)
		}
	}
	if resp := bob.change("/ui/b/notes/run", url.Values{"key": {"a.txt"}, "open": {"1"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob opening alice's object: %d", resp.StatusCode)
	}
	if _, body := b.get(obj); !strings.Contains(body, "Open with upper") {
		t.Errorf("bob's tries changed alice's binding")
	}

	resp = b.change("/ui/b/notes/open-with/delete", url.Values{"content_type": {"text/plain"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d\n%s", resp.StatusCode, bodyOf(resp))
	}
	if _, body := b.get(obj); strings.Contains(body, "open-with-run") {
		t.Errorf("the object page still offers Open after the binding went")
	}
	if resp := b.change("/ui/b/notes/run", url.Values{"key": {"a.txt"}, "open": {"1"}}); resp.StatusCode != http.StatusNotFound ||
		!strings.Contains(bodyOf(resp), "No app is bound") {
		t.Errorf("open without a binding: %d", resp.StatusCode)
	}
}
