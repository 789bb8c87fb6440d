package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/insitu-cloud/insitu/internal/store"
)

// ListObjectVersions implements store.Versioned: every reachable node
// lists a page of its versions and the pages merge in key order, then
// newest version first, one entry per (key, version id); a key's first
// version in that order is its latest. As ListObjects does, a round
// trusts entries only up to the smallest last entry of the nodes whose
// pages were cut and goes on from there, so memory is bounded by MaxKeys
// per node per round. A bucket that never had versioning lists its
// objects (ListObjects, where a tombstone newer than a stale copy hides
// it) as their null versions.
func (e *Engine) ListObjectVersions(ctx context.Context, bucket string, opts store.ListVersionsOptions) (store.ListVersionsResult, error) {
	state, err := e.versioning(ctx, bucket)
	if err != nil {
		return store.ListVersionsResult{}, err
	}
	if state == store.VersioningUnset {
		return e.listNullVersions(ctx, bucket, opts)
	}
	max := opts.MaxKeys
	if max <= 0 || max > 1000 {
		max = 1000
	}
	nodes := e.others(nil)
	return mergeVersionPages(opts, max, func(o store.ListVersionsOptions) ([]store.ListVersionsResult, error) {
		return e.listVersionsAll(ctx, nodes, bucket, o)
	})
}

// mergeVersionPages is ListObjectVersions' merge over fetch, which
// returns one page of every node's versions from the options' markers.
// (With nothing filtered out, as ListObjects filters tombstones, a round
// always fills the page before the horizon; the rule stays as a guard.)
func mergeVersionPages(opts store.ListVersionsOptions, max int, fetch func(store.ListVersionsOptions) ([]store.ListVersionsResult, error)) (store.ListVersionsResult, error) {
	var out store.ListVersionsResult
	seen := "" // the key whose latest version is behind the marker
	if opts.VersionIDMarker != "" {
		seen = opts.KeyMarker
	}
	for {
		pages, err := fetch(store.ListVersionsOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter,
			KeyMarker: opts.KeyMarker, VersionIDMarker: opts.VersionIDMarker, MaxKeys: max})
		if err != nil {
			return out, err
		}
		entries, horizon, cut := mergeVersions(pages)
		for i, en := range entries {
			if cut && horizon.before(en) {
				break
			}
			opts.KeyMarker, opts.VersionIDMarker = en.name, en.info.VersionID
			if en.prefix {
				out.CommonPrefixes = append(out.CommonPrefixes, en.name)
			} else {
				out.Versions = append(out.Versions, store.ObjectVersion{Info: en.info, IsLatest: en.name != seen})
				seen = en.name
			}
			if len(out.Versions)+len(out.CommonPrefixes) == max {
				if cut || i < len(entries)-1 {
					out.IsTruncated = true
					out.NextKeyMarker, out.NextVersionIDMarker = opts.KeyMarker, opts.VersionIDMarker
				}
				return out, nil
			}
		}
		if !cut {
			return out, nil
		}
		opts.KeyMarker, opts.VersionIDMarker = horizon.name, horizon.info.VersionID
	}
}

// versionEntry is one version or common prefix of a merged version
// listing, ordered by name, then sort.
type versionEntry struct {
	name   string
	sort   string // versionSort of info; "" for a common prefix
	prefix bool
	info   store.ObjectInfo
}

// before reports whether a sorts before b.
func (a versionEntry) before(b versionEntry) bool {
	if a.name != b.name {
		return a.name < b.name
	}
	return a.sort < b.sort
}

// versionSort is where a version sorts among its key's versions, newest
// first: its id, or for the null version (whose id says nothing of its
// age) the id its stamp would have, as the local engine sorts a null
// version a cluster wrote (one written before the cluster, unstamped,
// by the complement of its LastModified in nanoseconds).
func versionSort(info store.ObjectInfo) string {
	switch {
	case info.VersionID != store.NullVersionID && info.VersionID != "":
		return info.VersionID
	case !info.Stamp.IsZero():
		return store.VersionIDOf(info.Stamp)
	}
	return fmt.Sprintf("%016x00000000", ^uint64(info.LastModified.UnixNano()))
}

// mergeVersions combines node pages: one entry per version (the newest
// stamp when replicas disagree, as for a null version) and per common
// prefix, in order. horizon is the smallest last entry of the pages that
// were cut (cut false when none was).
func mergeVersions(pages []store.ListVersionsResult) (entries []versionEntry, horizon versionEntry, cut bool) {
	byID := map[[2]string]versionEntry{}
	for _, p := range pages {
		var last versionEntry
		for _, v := range p.Versions {
			en := versionEntry{name: v.Info.Key, sort: versionSort(v.Info), info: v.Info}
			id := [2]string{en.name, v.Info.VersionID}
			if old, ok := byID[id]; !ok || v.Info.Stamp.After(old.info.Stamp) {
				byID[id] = en
			}
			if last.before(en) {
				last = en
			}
		}
		for _, cp := range p.CommonPrefixes {
			en := versionEntry{name: cp, prefix: true}
			byID[[2]string{cp, ""}] = en
			if last.before(en) {
				last = en
			}
		}
		if p.IsTruncated && (!cut || last.before(horizon)) {
			horizon, cut = last, true
		}
	}
	for _, en := range byID {
		entries = append(entries, en)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].before(entries[j]) })
	return entries, horizon, cut
}

// listVersionsAll gets one page of versions from each node (this one
// locally). A remote node that fails is left out, unless every remote
// node failed (as listAll).
func (e *Engine) listVersionsAll(ctx context.Context, nodes []NodeStatus, bucket string, opts store.ListVersionsOptions) ([]store.ListVersionsResult, error) {
	local := func(ctx context.Context) (store.ListVersionsResult, error) {
		return listVersionsLocal(ctx, e.local, bucket, opts)
	}
	return pagesOfAll(ctx, e, nodes, "listversions", listVersionsArgs{Bucket: bucket, Opts: opts}, local)
}

// listVersionsLocal is this node's page; a node holding nothing of the
// bucket yet lists nothing.
func listVersionsLocal(ctx context.Context, l Local, bucket string, opts store.ListVersionsOptions) (store.ListVersionsResult, error) {
	p, err := l.ListObjectVersions(ctx, bucket, opts)
	if errors.Is(err, store.ErrNoSuchBucket) {
		return store.ListVersionsResult{}, nil
	}
	return p, err
}

// listNullVersions lists a bucket without versioning: each object is its
// only version, "null", and the latest.
func (e *Engine) listNullVersions(ctx context.Context, bucket string, opts store.ListVersionsOptions) (store.ListVersionsResult, error) {
	page, err := e.ListObjects(ctx, bucket, store.ListOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter, After: opts.KeyMarker, MaxKeys: opts.MaxKeys})
	if err != nil {
		return store.ListVersionsResult{}, err
	}
	out := store.ListVersionsResult{CommonPrefixes: page.CommonPrefixes, IsTruncated: page.IsTruncated, NextKeyMarker: page.NextAfter}
	for _, o := range page.Objects {
		o.VersionID = store.NullVersionID
		out.Versions = append(out.Versions, store.ObjectVersion{Info: o, IsLatest: true})
	}
	return out, nil
}
