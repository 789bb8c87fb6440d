package cluster

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// fakeNode holds versions as a node's local engine lists them: by key,
// then id (newest first), resuming after a version-id marker by id order.
type fakeNode []store.ObjectInfo

func (n fakeNode) page(opts store.ListVersionsOptions) store.ListVersionsResult {
	var res store.ListVersionsResult
	for i, v := range n {
		after := v.Key > opts.KeyMarker || (opts.VersionIDMarker != "" && v.Key == opts.KeyMarker && v.VersionID > opts.VersionIDMarker)
		if !after {
			continue
		}
		if len(res.Versions) == opts.MaxKeys {
			res.IsTruncated = true
			break
		}
		res.Versions = append(res.Versions, store.ObjectVersion{Info: v, IsLatest: i == 0 || n[i-1].Key != v.Key})
		res.NextKeyMarker, res.NextVersionIDMarker = v.Key, v.VersionID
	}
	return res
}

// Version listings merged from nodes that each hold a different subset
// of the versions list every version once, in key then newest-first
// order, a key's newest as its latest, whatever the page size, following
// the markers page by page.
func TestMergeVersionPages(t *testing.T) {
	for seed := range uint64(200) {
		rnd := rand.New(rand.NewPCG(seed, 7))
		var all []store.ObjectInfo
		nodes := make([]fakeNode, 3)
		for k := range 1 + rnd.IntN(6) {
			for v := range 1 + rnd.IntN(5) {
				info := store.ObjectInfo{Key: fmt.Sprintf("k%d", k), Stamp: store.Stamp{HLC: uint64(1000+v) << 16, Node: "n"}}
				info.VersionID = store.VersionIDOf(info.Stamp)
				all = append(all, info)
				held := false
				for i := range nodes {
					if rnd.IntN(2) == 0 || (i == len(nodes)-1 && !held) {
						nodes[i], held = append(nodes[i], info), true
					}
				}
			}
		}
		order := func(s []store.ObjectInfo) {
			sort.Slice(s, func(i, j int) bool {
				return s[i].Key < s[j].Key || (s[i].Key == s[j].Key && s[i].VersionID < s[j].VersionID)
			})
		}
		order(all)
		for i := range nodes {
			order(nodes[i])
		}
		var want []string
		for i, v := range all {
			want = append(want, fmt.Sprintf("%s %s %v", v.Key, v.VersionID, i == 0 || all[i-1].Key != v.Key))
		}
		max := 1 + rnd.IntN(4)
		fetch := func(o store.ListVersionsOptions) ([]store.ListVersionsResult, error) {
			if o.MaxKeys != max {
				t.Fatalf("a node was asked for %d entries, want %d", o.MaxKeys, max)
			}
			var pages []store.ListVersionsResult
			for _, n := range nodes {
				pages = append(pages, n.page(o))
			}
			return pages, nil
		}
		var got []string
		opts := store.ListVersionsOptions{MaxKeys: max}
		for range len(all) + 1 {
			res, err := mergeVersionPages(opts, max, fetch)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Versions) > max {
				t.Fatalf("seed %d: a page of %d, max %d", seed, len(res.Versions), max)
			}
			for _, v := range res.Versions {
				got = append(got, fmt.Sprintf("%s %s %v", v.Info.Key, v.Info.VersionID, v.IsLatest))
			}
			if !res.IsTruncated {
				break
			}
			opts.KeyMarker, opts.VersionIDMarker = res.NextKeyMarker, res.NextVersionIDMarker
		}
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d, max %d:\n got %q\nwant %q", seed, max, got, want)
		}
	}
}
