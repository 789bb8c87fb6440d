package s3api

import (
	"strings"
	"testing"
)

// FuzzParseRange: any Range header either is ignored or yields a range
// that Resolve accepts or refuses cleanly; nothing panics.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=7-", "bytes=1-2,3-4", "bytes=--1", "bytes=99999999999999999999-"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		r, ok := parseRange(h)
		if !ok {
			return
		}
		off, n, err := r.Resolve(size)
		if err != nil {
			return
		}
		if off < 0 || n <= 0 || off+n > size {
			t.Fatalf("range %q over %d resolved to off %d n %d", h, size, off, n)
		}
	})
}

// FuzzCopySource: x-amz-copy-source parsing never panics and never names
// an empty bucket or key.
func FuzzCopySource(f *testing.F) {
	for _, s := range []string{"/b/k", "b/k%20x?versionId=null", "b", "%", "/b/k?versionId=x&y", "//k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		b, k, _, err := copySource(v)
		if err == nil && (b == "" || k == "") {
			t.Fatalf("copySource(%q) = %q, %q", v, b, k)
		}
	})
}

// FuzzSplitArgs: x-insitu-args words; balanced input round-trips through
// simple quoting; no word ever holds NUL (issue 8 item 7).
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{`-c ERROR`, `'a b' "c d" e\ f`, `"unbalanced`, `\`, `  `, "a\x00b", "'\x00'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		words, err := splitArgs([]string{v})
		if err != nil {
			return
		}
		for _, w := range words {
			if strings.ContainsRune(w, 0) {
				t.Fatalf("word with NUL from %q", v)
			}
		}
		// Quote every word again and split: the same words come back.
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
		}
		again, err := splitArgs([]string{strings.Join(quoted, " ")})
		if err != nil || len(again) != len(words) {
			t.Fatalf("re-split of %q: %q %v", words, again, err)
		}
		for i := range words {
			if again[i] != words[i] {
				t.Fatalf("word %d: %q != %q", i, again[i], words[i])
			}
		}
	})
}
