package cluster

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// batch repairs a batch of local holdings: one lookup per target node for
// the keys it should hold, then a decision per key.
func (r *repairer) batch(ctx context.Context, batch []store.ObjectInfo, st *passStats) error {
	batch = r.dropGoneBuckets(ctx, batch)
	targets, asks, byName, want := r.batchTargets(batch)
	theirs := r.lookups(ctx, batch, asks, byName)
	return r.settleAll(ctx, len(batch), st, func(i int, one *passStats) {
		if !batch[i].Deleted {
			one.objects++
		}
		r.settleKey(ctx, batch[i], targets[i], theirs[i], want, one)
	})
}

// batchTargets places each entry of batch among the live nodes and
// returns its targets, the batch indexes each other target node should
// be asked about, the nodes by name and the wanted number of copies.
func (r *repairer) batchTargets(batch []store.ObjectInfo) ([][]NodeStatus, map[string][]int, map[string]NodeStatus, int) {
	place, _, byName := r.e.members()
	want := r.e.wanted(place)
	asks := map[string][]int{} // node -> batch indexes
	targets := make([][]NodeStatus, len(batch))
	for i, info := range batch {
		targets[i] = statuses(Place(place, info.Bucket, info.Key, want), byName)
		for _, t := range targets[i] {
			if !r.e.self(t) {
				asks[t.Name] = append(asks[t.Name], i)
			}
		}
	}
	return targets, asks, byName, want
}

// repairParallel is how many keys of a batch one node settles at once,
// so the targets' commits group their fsyncs.
const repairParallel = 8

// lookups asks each target node, in one call per bucket, what it holds of
// the keys it should hold; unanswered keys are missing from the map.
func (r *repairer) lookups(ctx context.Context, batch []store.ObjectInfo, asks map[string][]int, byName map[string]NodeStatus) []map[string]held {
	return askByBucket(batch, asks, func(node, bucket string, is []int) ([]held, error) {
		keys := make([]string, len(is))
		for j, i := range is {
			keys[j] = batch[i].Key
		}
		return r.e.lookup(ctx, byName[node], bucket, keys)
	})
}

// askByBucket asks each node of asks, in one call per bucket, about the
// batch entries it should hold, and returns each entry's answers by node;
// a node whose call fails or answers the wrong count is missing from
// them (neither counted as holding nor sent to).
func askByBucket[T any](batch []store.ObjectInfo, asks map[string][]int, ask func(node, bucket string, is []int) ([]T, error)) []map[string]T {
	out := make([]map[string]T, len(batch))
	for i := range out {
		out[i] = map[string]T{}
	}
	for name, idx := range asks {
		byBucket := map[string][]int{}
		for _, i := range idx {
			byBucket[batch[i].Bucket] = append(byBucket[batch[i].Bucket], i)
		}
		for bucket, is := range byBucket {
			hs, err := ask(name, bucket, is)
			if err != nil || len(hs) != len(is) {
				continue
			}
			for j, i := range is {
				out[i][name] = hs[j]
			}
		}
	}
	return out
}

// settleKey brings one key to its placement: a stale local copy is
// refreshed (when this node is a target) or dropped; the newest local
// copy is pushed to the targets missing it, and dropped here once every
// target holds it and this node is not one of them.
func (r *repairer) settleKey(ctx context.Context, ours store.ObjectInfo, targets []NodeStatus, theirs map[string]held, want int, st *passStats) {
	selfTarget := indexOf(targets, r.c.Name()) >= 0
	if src, newer := newestElsewhere(ours, targets, theirs); newer {
		if selfTarget {
			r.pull(ctx, src, theirs[src.Name].Info, st)
		} else if r.c.local.Drop(ctx, ours.Bucket, ours.Key, ours.Stamp) == nil {
			st.dropped++
		}
		return
	}
	holders := 0
	if selfTarget {
		holders++
	}
	for _, t := range targets {
		if h, ok := theirs[t.Name]; ok && h.Found && h.Info.Stamp == ours.Stamp {
			holders++
		}
	}
	reporter := !ours.Deleted && holders < want && r.reports(ours, targets, theirs)
	for _, t := range targets {
		h, asked := theirs[t.Name]
		if !asked && !r.e.self(t) {
			st.failed++ // did not answer: look again next pass
		}
		if r.e.self(t) || !asked || (h.Found && !ours.Stamp.After(h.Info.Stamp)) {
			continue
		}
		if err := r.e.push(ctx, t, ours); err == nil {
			holders++
			st.copied++
		} else {
			st.failed++
			r.c.log.Debug("repair push failed", "node", t.Name, "key", ours.Key, "err", err)
		}
	}
	if reporter {
		st.under++
		if holders < want {
			st.unfixed++
		}
	}
	r.maybeDrop(ctx, ours, selfTarget, holders, len(targets), st)
}

// maybeDrop forgets the local copy when every target holds it and this
// node is not a target, and a tombstone once its grace has passed.
func (r *repairer) maybeDrop(ctx context.Context, ours store.ObjectInfo, selfTarget bool, holders, ntargets int, st *passStats) {
	all := holders >= ntargets && ntargets > 0
	if all && (!selfTarget || (ours.Deleted && graceOver(ours, r.cfg.TombstoneGrace, time.Now()))) {
		if r.c.local.Drop(ctx, ours.Bucket, ours.Key, ours.Stamp) == nil {
			st.dropped++
		}
	}
}

// graceOver reports whether a tombstone is older than grace: counted
// from its stamp or from when this node installed it (LastModified),
// whichever is later. A lifecycle expiration's tombstone carries a stamp
// just after the object it removed, which may be months old; its grace
// still runs from when it was written here.
func graceOver(tomb store.ObjectInfo, grace time.Duration, now time.Time) bool {
	made := HLCTime(tomb.Stamp.HLC)
	if tomb.LastModified.After(made) {
		made = tomb.LastModified
	}
	return now.Sub(made) > grace
}

// reports decides which holder counts an under-replicated key: the
// highest-ranked target holding the newest copy, or this node when no
// target does.
func (r *repairer) reports(ours store.ObjectInfo, targets []NodeStatus, theirs map[string]held) bool {
	for _, t := range targets {
		if r.e.self(t) {
			return true
		}
		if h := theirs[t.Name]; h.Found && h.Info.Stamp == ours.Stamp {
			return false
		}
	}
	return true
}

// newestElsewhere returns a target holding a newer version than ours.
func newestElsewhere(ours store.ObjectInfo, targets []NodeStatus, theirs map[string]held) (NodeStatus, bool) {
	best, found := ours.Stamp, false
	var src NodeStatus
	for _, t := range targets {
		if h := theirs[t.Name]; h.Found && h.Info.Stamp.After(best) {
			best, src, found = h.Info.Stamp, t, true
		}
	}
	return src, found
}

// pull replaces the local copy with the newer version held by src.
func (r *repairer) pull(ctx context.Context, src NodeStatus, info store.ObjectInfo, st *passStats) {
	var err error
	if info.Deleted {
		err = r.c.local.DeleteReplica(ctx, info.Bucket, info.Key, info.Stamp)
	} else if info.DeleteMarker {
		err = r.c.local.PutReplica(ctx, info, http.NoBody)
	} else {
		var rc interface{ Close() error }
		body, oerr := r.e.openAt(ctx, src, info, 0, info.Size)
		if err = oerr; err == nil {
			rc = body
			err = r.c.local.PutReplica(ctx, info, body)
			rc.Close()
		}
	}
	if err == nil {
		st.copied++
	} else if !errors.Is(err, store.ErrSuperseded) {
		st.failed++
		r.c.log.Debug("repair pull failed", "from", src.Name, "key", info.Key, "err", err)
	}
}

// dropGoneBuckets drops the local copies of buckets deleted from the
// cluster (a node that was away missed the drop) and returns the batch
// without them.
func (r *repairer) dropGoneBuckets(ctx context.Context, batch []store.ObjectInfo) []store.ObjectInfo {
	gone := map[string]bool{}
	kept := batch[:0]
	for _, info := range batch {
		ok, seen := gone[info.Bucket]
		if !seen {
			_, err := r.e.readBucket(ctx, info.Bucket) // etcd itself, not the cache
			ok = errors.Is(err, store.ErrNoSuchBucket)
			gone[info.Bucket] = ok
			if ok {
				r.c.log.Info("repair: dropping the local copy of a deleted bucket", "bucket", info.Bucket)
				if err := r.c.local.DropBucket(ctx, info.Bucket); err != nil {
					r.c.log.Warn("repair: drop bucket", "bucket", info.Bucket, "err", err)
				}
			}
		}
		if !ok {
			kept = append(kept, info)
		}
	}
	return kept
}
