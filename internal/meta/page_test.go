package meta

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestListPage walks a prefix forward and backward in pages: every key
// exactly once, in order, none from a neighbouring prefix.
func TestListPage(t *testing.T) {
	s, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testListPage(t, s)
}

// testListPage is TestListPage's body, for every Store.
func testListPage(t *testing.T, s Store) {
	ctx := context.Background()
	var want []string
	for i := range 25 {
		k := fmt.Sprintf("r/a/%03d", i)
		want = append(want, k)
		if err := s.Put(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"r/", "r/a", "r/a0", "r/b/000", "q/a/000"} {
		if err := s.Put(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	walk := func(reverse bool, limit int) []string {
		var got []string
		after := ""
		for {
			page, err := s.ListPage(ctx, "r/a/", Page{After: after, Limit: limit, Reverse: reverse})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("page of %d > limit %d", len(page), limit)
			}
			if len(got) > len(want) {
				t.Fatalf("the walk returned more keys than there are: %v", got)
			}
			for _, p := range page {
				if string(p.Value) != p.Key {
					t.Fatalf("value of %s = %q", p.Key, p.Value)
				}
				got = append(got, p.Key)
			}
			if len(page) < limit {
				return got
			}
			after = page[len(page)-1].Key
		}
	}
	for _, limit := range []int{1, 7, 25, 100} {
		if got := walk(false, limit); !slices.Equal(got, want) {
			t.Fatalf("forward, limit %d: %v", limit, got)
		}
		rev := slices.Clone(want)
		slices.Reverse(rev)
		if got := walk(true, limit); !slices.Equal(got, rev) {
			t.Fatalf("reverse, limit %d: %v", limit, got)
		}
	}
	for _, c := range []struct {
		page  Page
		first string
		n     int
	}{
		{Page{After: "r/a/010", Limit: 3}, "r/a/011", 3},
		{Page{After: "r/a/010", Limit: 3, Reverse: true}, "r/a/009", 3},
		{Page{After: "r/a/0105"}, "r/a/011", 14},                // a key that does not exist
		{Page{After: "r/a/\xff", Reverse: true}, "r/a/024", 25}, // past the end
		{Page{After: "r/a/\xff"}, "", 0},
		{Page{After: "a", Reverse: true}, "", 0}, // before the prefix
		{Page{After: "a"}, "r/a/000", 25},
		{Page{Limit: 2, KeysOnly: true}, "r/a/000", 2},
	} {
		page, err := s.ListPage(ctx, "r/a/", c.page)
		if err != nil || len(page) != c.n || (c.n > 0 && page[0].Key != c.first) {
			t.Fatalf("ListPage(%+v) = %d pairs %v, %v", c.page, len(page), page, err)
		}
		if c.page.KeysOnly && page[0].Value != nil {
			t.Fatalf("KeysOnly returned a value")
		}
	}
}
