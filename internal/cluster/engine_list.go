package cluster

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// ListObjects implements store.Engine: every reachable node lists a page
// (tombstones included) and the pages merge in key order, the newest
// stamp of each key winning. Memory is bounded by MaxKeys per node per
// round; a round trusts keys only up to the smallest last key of the
// nodes whose pages were cut, and goes on from there if it found too few.
func (e *Engine) ListObjects(ctx context.Context, bucket string, opts store.ListOptions) (store.ListResult, error) {
	if err := e.bucketExists(ctx, bucket); err != nil {
		return store.ListResult{}, err
	}
	max := opts.MaxKeys
	if max <= 0 || max > 1000 {
		max = 1000
	}
	var out store.ListResult
	nodes := e.others(nil)
	for {
		pages, err := e.listAll(ctx, nodes, bucket, store.ListOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter, After: opts.After, MaxKeys: max, Tombstones: true})
		if err != nil {
			return out, err
		}
		entries, horizon, cut := merge(pages)
		for _, en := range entries {
			if cut && en.name > horizon {
				break
			}
			opts.After = en.name
			if en.prefix {
				out.CommonPrefixes = append(out.CommonPrefixes, en.name)
			} else if !en.info.Deleted && !en.info.DeleteMarker {
				out.Objects = append(out.Objects, en.info)
			}
			if len(out.Objects)+len(out.CommonPrefixes) == max {
				out.IsTruncated, out.NextAfter = cut || en.name != entries[len(entries)-1].name, en.name
				return out, nil
			}
		}
		if !cut {
			return out, nil
		}
		opts.After = horizon
	}
}

// ListTimeout bounds one node's page of a listing; a node that does not
// answer in time is left out of the page (its objects have copies on
// other nodes), so a paused node cannot stall a listing.
const ListTimeout = 5 * time.Second

// listAll gets one page from each node (this one locally). A remote node
// that fails is left out, unless every remote node failed.
func (e *Engine) listAll(ctx context.Context, nodes []NodeStatus, bucket string, opts store.ListOptions) ([]store.ListResult, error) {
	local := func(ctx context.Context) (store.ListResult, error) {
		p, err := e.local.ListObjects(ctx, bucket, opts)
		if errors.Is(err, store.ErrNoSuchBucket) {
			err = nil // holds nothing of it yet
		}
		return p, err
	}
	return pagesOfAll(ctx, e, nodes, "list", listArgs{Bucket: bucket, Opts: opts}, local)
}

// pagesOfAll gets one page from each node: this one's from local, the
// others' from the internal call op with args (each within ListTimeout).
// A remote node that fails is left out, unless every remote node failed.
func pagesOfAll[P any](ctx context.Context, e *Engine, nodes []NodeStatus, op string, args any, local func(context.Context) (P, error)) ([]P, error) {
	pages := make([]P, len(nodes))
	var mu sync.Mutex
	var failed []error
	err := each(ctx, nodes, func(ctx context.Context, n NodeStatus) error {
		i := indexOf(nodes, n.Name)
		if e.self(n) {
			p, err := local(ctx)
			pages[i] = p
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, ListTimeout)
		defer cancel()
		if err := e.c.call(ctx, n.Endpoint, "POST", internalPrefix+op, args, &pages[i]); err != nil {
			e.c.log.Warn("listing: a node did not answer; listing without it", "op", op, "node", n.Name, "err", err)
			mu.Lock()
			failed = append(failed, err)
			mu.Unlock()
		}
		return nil
	})
	if err == nil && len(failed) > 0 && len(failed) == len(nodes)-1 && len(nodes) > 1 && indexOf(nodes, e.c.Name()) >= 0 {
		err = failed[0] // nobody else answered: this node alone cannot vouch for the listing
	}
	return pages, err
}

// entry is one key or common prefix of a merged listing.
type entry struct {
	name   string
	prefix bool
	info   store.ObjectInfo
}

// merge combines node pages: one entry per name (the newest stamp for
// keys), in name order. horizon is the smallest last name of the pages
// that were cut (cut false when none was).
func merge(pages []store.ListResult) (entries []entry, horizon string, cut bool) {
	byName := map[string]entry{}
	for _, p := range pages {
		for _, o := range p.Objects {
			if old, ok := byName[o.Key]; !ok || (!old.prefix && o.Stamp.After(old.info.Stamp)) {
				byName[o.Key] = entry{name: o.Key, info: o}
			}
		}
		for _, cp := range p.CommonPrefixes {
			byName[cp] = entry{name: cp, prefix: true}
		}
		if p.IsTruncated && (!cut || p.NextAfter < horizon) {
			horizon, cut = p.NextAfter, true
		}
	}
	for _, en := range byName {
		entries = append(entries, en)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, horizon, cut
}
