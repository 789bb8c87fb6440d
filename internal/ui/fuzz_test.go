package ui

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzCrumbs: the breadcrumbs of a prefix (from the URL) join back to the
// prefix up to its last '/', each ending in '/'.
func FuzzCrumbs(f *testing.F) {
	for _, s := range []string{"", "a/", "a/b/c", "//x", "<script>/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prefix string) {
		var joined strings.Builder
		for _, c := range crumbs(prefix) {
			if !strings.HasSuffix(c.Name, "/") || !strings.HasPrefix(prefix, c.Prefix) {
				t.Fatalf("crumb %+v of %q", c, prefix)
			}
			joined.WriteString(c.Name)
		}
		if want := prefix[:strings.LastIndexByte(prefix, '/')+1]; joined.String() != want {
			t.Fatalf("crumbs of %q join to %q", prefix, joined.String())
		}
	})
}

// FuzzToken: a continuation token from the URL decodes or is refused,
// and what encodes decodes back.
func FuzzToken(f *testing.F) {
	f.Add("", "k001")
	f.Add("!!!", "a/b/")
	f.Fuzz(func(t *testing.T, tok, key string) {
		_, _ = decodeToken(tok)
		if got, err := decodeToken(encodeToken(key)); err != nil || got != key {
			t.Fatalf("round trip of %q: %q %v", key, got, err)
		}
	})
}

// FuzzPresign: the upload script's question is parsed or refused, and an
// accepted one never needs more than 10,000 parts.
func FuzzPresign(f *testing.F) {
	f.Add(`{"key":"a","size":5}`)
	f.Add(`{"key":"a","size":5497558138880,"upload_id":"n.1"}`)
	f.Add(`{"key":"","size":-1}`)
	f.Fuzz(func(t *testing.T, body string) {
		q, err := parsePresign(strings.NewReader(body))
		if err != nil {
			return
		}
		if q.Key == "" || q.Size < 0 || q.Type == "" {
			t.Fatalf("accepted %+v", q)
		}
		if ps := partSize(q.Size); (q.Size+ps-1)/ps > maxParts {
			t.Fatalf("size %d needs more than %d parts of %d", q.Size, maxParts, ps)
		}
	})
}

// TestS3Escape: presigned paths carry keys encoded as SigV4 canonicalizes
// them (RFC 3986 unreserved bytes and '/' kept), so the signed path and
// the sent path are the same bytes.
func TestS3Escape(t *testing.T) {
	for in, want := range map[string]string{
		"a/b c+d":       "a/b%20c%2Bd",
		"é=,;:@$&!*'()": "%C3%A9%3D%2C%3B%3A%40%24%26%21%2A%27%28%29",
		"A-z_0.9~":      "A-z_0.9~",
		"?#%":           "%3F%23%25",
	} {
		if got := s3Escape(in); got != want {
			t.Errorf("s3Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRunFilter: any query either parses or is a user error, and a parsed
// filter's query string parses back to the same filter.
func FuzzRunFilter(f *testing.F) {
	f.Add("app=wc&status=failed&node=n1&since=2026-11-30T01:02&until=2026-11-30T03:04&after=x")
	f.Add("until=9999-12-31T23:59")
	f.Add("since=%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		rf, err := parseRunFilter(q)
		if err != nil {
			var ue *userError
			if !errors.As(err, &ue) {
				t.Fatalf("not a user error: %v", err)
			}
			return
		}
		q2, _ := url.ParseQuery(rf.query())
		again, err := parseRunFilter(q2)
		if err != nil || again.App != rf.App || again.Status != rf.Status || again.Node != rf.Node || !again.Since.Equal(rf.Since) || !again.Until.Equal(rf.Until) {
			t.Fatalf("%q: %+v, then %+v (%v)", raw, rf, again, err)
		}
	})
}

// FuzzPastedSpecs: a pasted job spec or service definition either decodes
// or is refused in words; the map/reduce fields never panic.
func FuzzPastedSpecs(f *testing.F) {
	f.Add(`{"inputs":["s3://b/in/"],"phases":[{"type":"map","app":"wc"}]}`, "sortu -w -c", "2")
	f.Add(`{"name":"x","app":"hello","public":true,"timeout":"5s"}`, "", "x")
	f.Add(`{"inputs":`, "wc", "-1")
	f.Fuzz(func(t *testing.T, js, mapApp, reducers string) {
		var ue *userError
		for _, fn := range []func() error{
			func() error { _, err := jobForm{Spec: js}.spec(); return err },
			func() error {
				_, err := jobForm{Map: mapApp, Reduce: "sum", Reducers: reducers, Input: "s3://b/"}.spec()
				return err
			},
			func() error { _, _, err := serviceForm{Definition: js}.spec(); return err },
			func() error { _, _, err := serviceForm{Name: "x", MaxConcurrency: reducers}.spec(); return err },
		} {
			if err := fn(); err != nil && !errors.As(err, &ue) {
				t.Fatalf("not a user error: %v", err)
			}
		}
	})
}
