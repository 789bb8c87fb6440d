package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// Versions in repair. Every version of a key is an immutable copy with an
// id, so repair settles each one on its own, as it settles a key's
// latest: a pass walks the key's latest (Walk) and then every noncurrent
// version and every version tombstone this node holds (WalkVersions), in
// batches of RepairConfig.Batch entries, asks each target node in one
// call per bucket what it holds of those ids (LookupVersion: the version
// and the tombstone of its removal), and per entry:
//
//   - a version some target holds a tombstone of is removed here
//     (RemoveVersionReplica, which also keeps the tombstone), unless it
//     is locked here;
//   - else it is pushed, as an exact copy (same id, stamp, ETag,
//     checksums), to each target holding neither it nor a newer copy of
//     its id (a later null version), and dropped here when this node is
//     not a target and every target holds it;
//   - a target holding the same copy with older ACL or lock settings
//     (store.ObjectMeta's ACLStamp, LockStamp: a change it missed) gets
//     the newer ones (SyncVersionSettings);
//   - a tombstone is sent to each target not holding it (the target
//     removes the version, unless locked, and keeps the tombstone), and
//     dropped here once every target holds it: at once when this node is
//     not a target, after RepairConfig.TombstoneGrace when it is.
//
// A version held by a node that is not one of its key's targets is
// dropped there (DropVersionCopy, no tombstone) once every target holds
// it, as a key's copy is; a locked copy stays. Memory per batch is
// bounded by Batch entries and one answer per entry per target.

// versionBatch settles a batch of local versions and version tombstones
// (entries with VersionID set) against their keys' targets.
func (r *repairer) versionBatch(ctx context.Context, batch []store.ObjectInfo, st *passStats) error {
	if batch = r.dropGoneBuckets(ctx, batch); len(batch) == 0 {
		return ctx.Err()
	}
	targets, asks, byName, _ := r.batchTargets(batch)
	theirs := r.versionLookups(ctx, batch, asks, byName)
	return r.settleAll(ctx, len(batch), st, func(i int, one *passStats) {
		if batch[i].Deleted {
			r.settleTomb(ctx, batch[i], targets[i], theirs[i], one)
		} else {
			r.settleVersion(ctx, batch[i], targets[i], theirs[i], one)
		}
	})
}

// settleAll runs settle for indexes 0..n-1, repairParallel at a time,
// adding each one's stats to st; it returns when all are done.
func (r *repairer) settleAll(ctx context.Context, n int, st *passStats, settle func(i int, one *passStats)) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, repairParallel)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var one passStats
			settle(i, &one)
			mu.Lock()
			st.add(one)
			mu.Unlock()
		})
	}
	wg.Wait()
	return ctx.Err()
}

// versionLookups asks each target node, in one call per bucket, what it
// holds of the versions it should hold; unanswered entries are missing
// from the map.
func (r *repairer) versionLookups(ctx context.Context, batch []store.ObjectInfo, asks map[string][]int, byName map[string]NodeStatus) []map[string]store.VersionHeld {
	return askByBucket(batch, asks, func(node, bucket string, is []int) ([]store.VersionHeld, error) {
		a := versionLookupArgs{Bucket: bucket, Keys: make([]string, len(is)), IDs: make([]string, len(is))}
		for j, i := range is {
			a.Keys[j], a.IDs[j] = batch[i].Key, batch[i].VersionID
		}
		return r.e.lookupVersions(ctx, byName[node], a)
	})
}

// lookupVersions asks node n what it holds of a's versions.
func (e *Engine) lookupVersions(ctx context.Context, n NodeStatus, a versionLookupArgs) ([]store.VersionHeld, error) {
	if e.self(n) {
		return lookupVersionsLocal(ctx, e.local, a)
	}
	var out []store.VersionHeld
	err := e.c.call(ctx, n.Endpoint, "POST", internalPrefix+"lookupversions", a, &out)
	return out, err
}

// lookupVersionsLocal is what this node holds of a's versions.
func lookupVersionsLocal(ctx context.Context, l Local, a versionLookupArgs) ([]store.VersionHeld, error) {
	if len(a.Keys) != len(a.IDs) {
		return nil, errors.New("cluster: lookupversions: keys and ids differ in length")
	}
	out := make([]store.VersionHeld, len(a.Keys))
	for i := range a.Keys {
		h, err := l.LookupVersion(ctx, a.Bucket, a.Keys[i], a.IDs[i])
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// settleVersion brings one local version to its key's targets, or
// removes it here when a target holds its tombstone.
func (r *repairer) settleVersion(ctx context.Context, ours store.ObjectInfo, targets []NodeStatus, theirs map[string]store.VersionHeld, st *passStats) {
	if tomb, ok := tombFor(ours, theirs); ok {
		r.applyTomb(ctx, tomb, st)
		return
	}
	selfTarget, holders := false, 0
	for _, t := range targets {
		if r.e.self(t) {
			selfTarget = true
			continue
		}
		h, asked := theirs[t.Name]
		switch {
		case !asked:
			st.failed++ // did not answer: look again next pass
		case h.Version != nil && !ours.Stamp.After(h.Version.Stamp):
			holders++ // held (or a newer copy of its id: the null version's)
			if h.Version.Stamp == ours.Stamp && ours.Meta.SettingsNewer(h.Version.Meta) {
				r.sendSettings(ctx, t, ours, st)
			}
		default:
			if err := r.e.push(ctx, t, ours); err != nil {
				st.failed++
				r.c.log.Debug("repair version push failed", "node", t.Name, "key", ours.Key, "version", ours.VersionID, "err", err)
			} else {
				holders++
				st.copied++
			}
		}
	}
	if !selfTarget && len(targets) > 0 && holders == len(targets) {
		// moved: every target holds it durably; no tombstone
		if r.c.local.DropVersionCopy(ctx, ours.Bucket, ours.Key, ours.VersionID, ours.Stamp) == nil {
			st.dropped++
		}
	}
}

// tombFor returns a tombstone some answer holds that removes ours.
func tombFor(ours store.ObjectInfo, theirs map[string]store.VersionHeld) (store.ObjectInfo, bool) {
	for _, h := range theirs {
		if h.Tomb != nil && store.TombCovers(*h.Tomb, ours.Stamp) {
			return *h.Tomb, true
		}
	}
	return store.ObjectInfo{}, false
}

// applyTomb removes the local copy of the version tomb names (keeping the
// tombstone). A locked copy stays: it is logged, not retried before the
// next pass.
func (r *repairer) applyTomb(ctx context.Context, tomb store.ObjectInfo, st *passStats) {
	tomb.LastModified = time.Time{} // installed here now
	err := r.c.local.RemoveVersionReplica(ctx, tomb)
	switch {
	case err == nil:
		st.dropped++
	case errors.Is(err, store.ErrObjectLocked):
		r.c.log.Warn("repair: a version removed elsewhere is locked here; kept", "bucket", tomb.Bucket, "key", tomb.Key, "version", tomb.VersionID)
	default:
		st.failed++
		r.c.log.Debug("repair: version tombstone", "key", tomb.Key, "version", tomb.VersionID, "err", err)
	}
}

// settleTomb sends a local version tombstone to the targets missing it
// and drops it once every target holds it (after the grace when this
// node is a target).
func (r *repairer) settleTomb(ctx context.Context, ours store.ObjectInfo, targets []NodeStatus, theirs map[string]store.VersionHeld, st *passStats) {
	selfTarget := indexOf(targets, r.c.Name()) >= 0
	holders := 0
	for _, t := range targets {
		if r.e.self(t) {
			holders++
			continue
		}
		h, asked := theirs[t.Name]
		switch {
		case !asked:
			st.failed++
		case h.Tomb != nil && store.TombCovers(*h.Tomb, ours.Stamp):
			holders++
		default:
			if r.sendTomb(ctx, t, ours, st) {
				holders++
			}
		}
	}
	if holders < len(targets) || len(targets) == 0 {
		return
	}
	if !selfTarget || graceOver(ours, r.cfg.TombstoneGrace, time.Now()) {
		if r.c.local.DropVersionTomb(ctx, ours.Bucket, ours.Key, ours.VersionID, ours.Stamp) == nil {
			st.dropped++
		}
	}
}

// sendTomb installs tomb at target t and reports whether t now holds it;
// a copy locked there stays (logged, not counted as a failure).
func (r *repairer) sendTomb(ctx context.Context, t NodeStatus, tomb store.ObjectInfo, st *passStats) bool {
	tomb.LastModified = time.Time{}
	err := r.e.c.call(ctx, t.Endpoint, "POST", internalPrefix+"versiontomb", tomb, nil)
	switch {
	case err == nil:
		st.copied++
		return true
	case errors.Is(err, store.ErrObjectLocked):
		r.c.log.Warn("repair: a version removed here is locked on a target; kept there", "node", t.Name, "key", tomb.Key, "version", tomb.VersionID)
	default:
		st.failed++
		r.c.log.Debug("repair: send version tombstone", "node", t.Name, "key", tomb.Key, "version", tomb.VersionID, "err", err)
	}
	return false
}

// sendSettings gives target t's copy of version ours the ACL and lock
// settings ours carries that are newer than its own (a change it missed).
func (r *repairer) sendSettings(ctx context.Context, t NodeStatus, ours store.ObjectInfo, st *passStats) {
	m := ours.Meta
	a := versionArgs{Bucket: ours.Bucket, Key: ours.Key, Version: ours.VersionID, Stamp: ours.Stamp, Meta: &m}
	if err := r.e.c.call(ctx, t.Endpoint, "POST", internalPrefix+"versionsettings", a, nil); err != nil {
		st.failed++
		r.c.log.Debug("repair: send version settings", "node", t.Name, "key", ours.Key, "version", ours.VersionID, "err", err)
		return
	}
	st.copied++
}
