package ui

import (
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
