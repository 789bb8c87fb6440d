package storetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

var listKeys = []string{
	"/lead", "a", "a/1", "a/2", "a/b/1", "a/b/2", "a/c", "ab", "b", "b/1",
	"c.txt", "d/", "d/x", "dd", "e/f/g/h", "zz", "zz/é", "é",
}

// refList is the reference semantics of ListObjects over sorted keys.
func refList(keys []string, o store.ListOptions) (objs, cps []string, trunc bool, next string) {
	max := o.MaxKeys
	if max <= 0 || max > 1000 {
		max = 1000
	}
	count := 0
	for _, k := range keys {
		if !strings.HasPrefix(k, o.Prefix) || k <= o.After {
			continue
		}
		cp := ""
		if o.Delimiter != "" {
			if i := strings.Index(k[len(o.Prefix):], o.Delimiter); i >= 0 {
				cp = k[:len(o.Prefix)+i+len(o.Delimiter)]
			}
		}
		// A prefix is rolled up once, and not at all when the page starts
		// right after it.
		if cp != "" && (cp == o.After || (len(cps) > 0 && cps[len(cps)-1] == cp)) {
			continue
		}
		if count == max {
			return objs, cps, true, next
		}
		count++
		if cp != "" {
			cps = append(cps, cp)
			next = cp
		} else {
			objs = append(objs, k)
			next = k
		}
	}
	return objs, cps, false, ""
}

func fillList(t *testing.T, e store.Engine) {
	mkBucket(t, e, "b")
	mkBucket(t, e, "other") // its keys must never show up
	for _, k := range listKeys {
		put(t, e, "b", k, []byte(k))
		put(t, e, "other", k, []byte(k))
	}
	put(t, e, "other", "a/0", nil)
	put(t, e, "other", "0", nil)
}

func testList(t *testing.T, e store.Engine) {
	ctx := context.Background()
	fillList(t, e)
	// Hand-written expectations.
	cases := []struct {
		opts    store.ListOptions
		objs    []string
		cps     []string
		trunc   bool
		nextAft string
	}{
		{store.ListOptions{}, listKeys, nil, false, ""},
		{store.ListOptions{Delimiter: "/"}, []string{"a", "ab", "b", "c.txt", "dd", "zz", "é"}, []string{"/", "a/", "b/", "d/", "e/", "zz/"}, false, ""},
		{store.ListOptions{Prefix: "a/", Delimiter: "/"}, []string{"a/1", "a/2", "a/c"}, []string{"a/b/"}, false, ""},
		{store.ListOptions{Prefix: "a/", Delimiter: "/", MaxKeys: 2}, []string{"a/1", "a/2"}, nil, true, "a/2"},
		{store.ListOptions{Prefix: "a/", Delimiter: "/", After: "a/2", MaxKeys: 1}, nil, []string{"a/b/"}, true, "a/b/"},
		{store.ListOptions{Prefix: "a/", Delimiter: "/", After: "a/b/"}, []string{"a/c"}, nil, false, ""},
		{store.ListOptions{Prefix: "a", After: "a/b/1"}, []string{"a/b/2", "a/c", "ab"}, nil, false, ""},
		{store.ListOptions{Prefix: "nothing"}, nil, nil, false, ""},
		{store.ListOptions{After: "zzz"}, []string{"é"}, nil, false, ""},
		{store.ListOptions{Delimiter: "b"}, []string{"/lead", "a", "a/1", "a/2", "a/c", "c.txt", "d/", "d/x", "dd", "e/f/g/h", "zz", "zz/é", "é"}, []string{"a/b", "ab", "b"}, false, ""},
		{store.ListOptions{Prefix: "d/", Delimiter: "/"}, []string{"d/", "d/x"}, nil, false, ""},
		{store.ListOptions{Delimiter: "/", After: "d/", MaxKeys: 2}, []string{"dd"}, []string{"e/"}, true, "e/"},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%d:%+v", i, tc.opts), func(t *testing.T) {
			res, err := e.ListObjects(ctx, "b", tc.opts)
			if err != nil {
				t.Fatalf("ListObjects: %v", err)
			}
			got := objectKeys(res)
			if !equalStrings(got, tc.objs) || !equalStrings(res.CommonPrefixes, tc.cps) ||
				res.IsTruncated != tc.trunc || res.NextAfter != tc.nextAft {
				t.Fatalf("ListObjects(%+v) = objs %q cps %q trunc %v next %q\nwant objs %q cps %q trunc %v next %q",
					tc.opts, got, res.CommonPrefixes, res.IsTruncated, res.NextAfter, tc.objs, tc.cps, tc.trunc, tc.nextAft)
			}
		})
	}
	// Every combination against the reference.
	sorted := append([]string(nil), listKeys...)
	sort.Strings(sorted)
	for _, prefix := range []string{"", "a", "a/", "d/", "e/f/", "zz", "nope"} {
		for _, delim := range []string{"", "/", "b", "/f/"} {
			for _, after := range []string{"", "a", "a/", "a/1", "a/b/", "b", "d/", "zzz", "\U0010ffff"} {
				for _, max := range []int{0, 1, 2, 3, 1001} {
					o := store.ListOptions{Prefix: prefix, Delimiter: delim, After: after, MaxKeys: max}
					objs, cps, trunc, next := refList(sorted, o)
					res, err := e.ListObjects(ctx, "b", o)
					if err != nil {
						t.Fatalf("ListObjects(%+v): %v", o, err)
					}
					if got := objectKeys(res); !equalStrings(got, objs) || !equalStrings(res.CommonPrefixes, cps) ||
						res.IsTruncated != trunc || res.NextAfter != next {
						t.Fatalf("ListObjects(%+v) = objs %q cps %q trunc %v next %q\nwant objs %q cps %q trunc %v next %q",
							o, got, res.CommonPrefixes, res.IsTruncated, res.NextAfter, objs, cps, trunc, next)
					}
				}
			}
		}
	}
	// Listed objects carry their metadata.
	res, err := e.ListObjects(ctx, "b", store.ListOptions{Prefix: "c.txt"})
	if err != nil || len(res.Objects) != 1 {
		t.Fatalf("list c.txt: %+v %v", res, err)
	}
	if o := res.Objects[0]; o.Size != 5 || o.ETag != md5hex([]byte("c.txt")) || o.LastModified.IsZero() || o.Bucket != "b" {
		t.Fatalf("listed object = %+v", o)
	}
}

// testListPaging pages through with NextAfter and checks every entry comes
// exactly once, in order.
func testListPaging(t *testing.T, e store.Engine) {
	ctx := context.Background()
	fillList(t, e)
	sorted := append([]string(nil), listKeys...)
	sort.Strings(sorted)
	for _, delim := range []string{"", "/"} {
		for _, max := range []int{1, 2, 5} {
			wantObjs, wantCPs, _, _ := refList(sorted, store.ListOptions{Delimiter: delim})
			var objs, cps []string
			after := ""
			for pages := 0; ; pages++ {
				if pages > len(sorted)+1 {
					t.Fatalf("delim %q max %d: paging does not end", delim, max)
				}
				res, err := e.ListObjects(ctx, "b", store.ListOptions{Delimiter: delim, After: after, MaxKeys: max})
				if err != nil {
					t.Fatal(err)
				}
				if n := len(res.Objects) + len(res.CommonPrefixes); n > max || (res.IsTruncated && n != max) {
					t.Fatalf("page of %d entries with max %d (truncated %v)", n, max, res.IsTruncated)
				}
				objs = append(objs, objectKeys(res)...)
				cps = append(cps, res.CommonPrefixes...)
				if !res.IsTruncated {
					break
				}
				after = res.NextAfter
			}
			if !equalStrings(objs, wantObjs) || !equalStrings(cps, wantCPs) {
				t.Fatalf("delim %q max %d: paged objs %q cps %q, want %q %q", delim, max, objs, cps, wantObjs, wantCPs)
			}
		}
	}
}

func objectKeys(res store.ListResult) []string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, o.Key)
	}
	return out
}
