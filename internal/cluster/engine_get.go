package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// holding is what one node holds for a key.
type holding struct {
	node     NodeStatus
	info     store.ObjectInfo
	ok       bool // something (object or tombstone) is held
	answered bool // the node answered the lookup
}

// locate asks every node that should hold bucket/key (and, when none of
// them holds anything, every other reachable node: the object may not
// have moved to its new placement yet; and when none of those does
// either, the nodes that joined since this node last read its view: a
// writer that saw one first may have put the only copy there) and
// returns the newest holding with every node that holds exactly it, in
// placement order: the first is the key's primary among its holders.
func (e *Engine) locate(ctx context.Context, bucket, key string) (store.ObjectInfo, []NodeStatus, error) {
	brec, err := e.bucketRecord(ctx, bucket)
	if err != nil {
		return store.ObjectInfo{}, nil, err
	}
	set := e.readSet(bucket, key)
	hs := e.lookupAll(ctx, set, bucket, key)
	best, holders := newest(hs)
	if len(holders) == 0 {
		hs = append(hs, e.lookupAll(ctx, e.others(set), bucket, key)...)
		best, holders = newest(hs)
	}
	if len(holders) == 0 {
		hs = append(hs, e.lookupAll(ctx, e.newcomers(ctx, hs), bucket, key)...)
		best, holders = newest(hs)
	}
	if len(holders) == 0 && !anyAnswered(hs) {
		return store.ObjectInfo{}, nil, fmt.Errorf("%w: no node answered for %s/%s", store.ErrUnavailable, bucket, key)
	}
	if len(holders) == 0 || best.Deleted {
		return store.ObjectInfo{}, nil, store.ErrNoSuchKey
	}
	if best.DeleteMarker {
		return store.ObjectInfo{}, nil, &store.DeleteMarkerError{VersionID: best.VersionID, Err: store.ErrNoSuchKey}
	}
	if best.VersionID == "" && brec.Versioning != store.VersioningUnset {
		best.VersionID = store.NullVersionID // written before versioning
	}
	return best, holders, nil
}

func anyAnswered(hs []holding) bool {
	for _, h := range hs {
		if h.answered {
			return true
		}
	}
	return false
}

// newest returns the newest holding and its holders, this node first.
func newest(hs []holding) (store.ObjectInfo, []NodeStatus) {
	var best store.ObjectInfo
	var holders []NodeStatus
	for _, h := range hs {
		switch {
		case !h.ok:
		case len(holders) == 0 || h.info.Stamp.After(best.Stamp):
			best, holders = h.info, []NodeStatus{h.node}
		case h.info.Stamp == best.Stamp:
			holders = append(holders, h.node)
		}
	}
	return best, holders
}

// LookupTimeout bounds a read's question to one node: a node that does
// not answer in time (paused, partitioned, not yet seen down) is taken to
// hold nothing.
const LookupTimeout = 2 * time.Second

// lookupAll asks each node of ns in parallel what it holds for the key;
// a node that cannot answer holds nothing.
func (e *Engine) lookupAll(ctx context.Context, ns []NodeStatus, bucket, key string) []holding {
	out := make([]holding, len(ns))
	var wg sync.WaitGroup
	for i, n := range ns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, LookupTimeout)
			defer cancel()
			hs, err := e.lookup(ctx, n, bucket, []string{key})
			if err == nil && len(hs) == 1 {
				out[i] = holding{node: n, info: hs[0].Info, ok: hs[0].Found, answered: true}
			}
		}()
	}
	wg.Wait()
	return out
}

// lookup asks node n what it holds for keys of bucket.
func (e *Engine) lookup(ctx context.Context, n NodeStatus, bucket string, keys []string) ([]held, error) {
	if !e.self(n) {
		var out []held
		err := e.c.call(ctx, n.Endpoint, "POST", internalPrefix+"lookup", lookupArgs{Bucket: bucket, Keys: keys}, &out)
		return out, err
	}
	return lookupLocal(ctx, e.local, bucket, keys)
}

func lookupLocal(ctx context.Context, l Local, bucket string, keys []string) ([]held, error) {
	out := make([]held, len(keys))
	for i, k := range keys {
		info, err := l.Lookup(ctx, bucket, k)
		switch {
		case err == nil:
			out[i] = held{Found: true, Info: info}
		case !errors.Is(err, store.ErrNoSuchKey):
			return nil, err
		}
	}
	return out, nil
}

// HeadObject implements store.Engine.
func (e *Engine) HeadObject(ctx context.Context, bucket, key string) (store.ObjectInfo, error) {
	info, _, err := e.locate(ctx, bucket, key)
	return info, err
}

// GetObject implements store.Engine: the newest copy, read from the key's
// primary holder (the first in placement order; this node's own copy
// only when it is the primary), as Ceph reads from a placement group's
// primary: each object is then cached in one node's page cache, not in
// every replica's. Reading the local copy first made every node of a
// 3-replica cluster on one machine read its own cold copy: GET 16 MiB
// r3 874 MiB/s, 16 MiB read from the disk per op; primary first, 1,124
// MiB/s and 3.9 (bench/cluster, BENCHMARKS.md session 9). A copy that
// fails its checksums mid-read is replaced by the same bytes from another
// holder, and queued for repair.
func (e *Engine) GetObject(ctx context.Context, bucket, key string, rng *store.Range) (store.ObjectInfo, io.ReadCloser, error) {
	info, holders, err := e.locate(ctx, bucket, key)
	if err != nil {
		return info, nil, err
	}
	return e.openHolders(ctx, info, holders, rng, false)
}

// openHolders opens rng of version info at the first of holders that
// serves it, failing over to the next ones; byID reads the version by
// its id (info.VersionID) rather than as the key's latest.
func (e *Engine) openHolders(ctx context.Context, info store.ObjectInfo, holders []NodeStatus, rng *store.Range, byID bool) (store.ObjectInfo, io.ReadCloser, error) {
	off, n := int64(0), info.Size
	if rng != nil {
		var err error
		if off, n, err = rng.Resolve(info.Size); err != nil {
			return info, nil, err
		}
	}
	fr := &failover{e: e, ctx: ctx, info: info, holders: holders, off: off, left: n, byID: byID}
	if err := fr.open(); err != nil {
		return info, nil, err
	}
	return info, fr, nil
}

// failover reads a range of one object version from its holders in turn.
type failover struct {
	e       *Engine
	ctx     context.Context
	info    store.ObjectInfo
	holders []NodeStatus
	off     int64
	left    int64
	cur     io.ReadCloser
	curNode NodeStatus
	byID    bool // read info.VersionID by id (see openHolders)
}

// open opens the range still to read at the next holder that has it.
func (f *failover) open() error {
	err := error(store.ErrNoSuchKey)
	for len(f.holders) > 0 {
		n := f.holders[0]
		f.holders = f.holders[1:]
		if f.cur, err = f.e.openVersion(f.ctx, n, f.info, f.off, f.left, f.byID); err == nil {
			f.curNode = n
			return nil
		}
		f.e.c.log.Warn("replica unreadable; trying the next", "node", n.Name, "bucket", f.info.Bucket, "key", f.info.Key, "err", err)
	}
	return err
}

func (f *failover) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.cur.Read(p)
	f.off += int64(n)
	f.left -= int64(n)
	if err != nil && err != io.EOF || (err == io.EOF && f.left > 0) {
		bad := f.curNode
		f.cur.Close()
		if oerr := f.open(); oerr != nil {
			return n, err
		}
		if errors.Is(err, store.ErrCorrupt) {
			f.e.dropCorrupt(f.ctx, bad, f.info)
		}
		return n, nil
	}
	return n, err
}

// WriteTo copies the rest of the range to w in chunks of streamChunk
// bytes (filled before each write), so a proxied GET costs the client's
// connection a write per chunk rather than one per 32 KiB; failing over
// stays Read's.
func (f *failover) WriteTo(w io.Writer) (int64, error) {
	bp := f.e.chunks.get()
	defer f.e.chunks.put(bp)
	buf := *bp
	var total int64
	for {
		n, rerr := io.ReadFull(f, buf)
		if n > 0 {
			wn, werr := w.Write(buf[:n])
			total += int64(wn)
			if werr != nil {
				return total, werr
			}
		}
		switch {
		case (rerr == io.EOF || rerr == io.ErrUnexpectedEOF) && f.left <= 0:
			return total, nil
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			// Every holder's stream ended short: not the object's end.
			return total, fmt.Errorf("cluster: %s/%s ended %d bytes short: %w", f.info.Bucket, f.info.Key, f.left, io.ErrUnexpectedEOF)
		case rerr != nil:
			return total, rerr
		}
	}
}

func (f *failover) Close() error {
	if f.cur != nil {
		return f.cur.Close()
	}
	return nil
}

// openAt opens off..off+n of version info (the key's latest) at node n.
func (e *Engine) openAt(ctx context.Context, n NodeStatus, info store.ObjectInfo, off, length int64) (io.ReadCloser, error) {
	return e.openVersion(ctx, n, info, off, length, false)
}

// openVersion opens off..off+n of version info at node n: by its id
// (info.VersionID) when byID, else as the key's latest; either way only
// the copy carrying info's stamp.
func (e *Engine) openVersion(ctx context.Context, n NodeStatus, info store.ObjectInfo, off, length int64, byID bool) (io.ReadCloser, error) {
	if e.self(n) && byID {
		return openVersionLocal(ctx, e.local, info, off, length)
	}
	if e.self(n) {
		return openLocal(ctx, e.local, info, off, length)
	}
	stamp, _ := json.Marshal(info.Stamp)
	q := url.Values{"bucket": {info.Bucket}, "key": {info.Key}, "off": {strconv.FormatInt(off, 10)}, "n": {strconv.FormatInt(length, 10)}}
	if byID {
		q.Set("version", info.VersionID)
	}
	ctx, cancel := context.WithCancel(ctx)
	resp, err := e.c.stream(ctx, n, "GET", "object", q, map[string]string{"X-Insitu-Stamp": string(stamp)}, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	return newIdleReader(resp.Body, cancel, StallTimeout), nil
}

// idleReader cuts a peer's body stream that delivers no byte for
// timeout (a peer paused or cut off mid-stream), so the failover reader
// moves to another holder instead of waiting forever.
type idleReader struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
	timer  *time.Timer
	limit  time.Duration
}

func newIdleReader(rc io.ReadCloser, cancel context.CancelFunc, limit time.Duration) *idleReader {
	return &idleReader{rc: rc, cancel: cancel, timer: time.AfterFunc(limit, cancel), limit: limit}
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.timer.Reset(r.limit)
	return n, err
}

func (r *idleReader) Close() error {
	r.timer.Stop()
	r.cancel()
	return r.rc.Close()
}

// openLocal opens a range of the local copy of info's version; another
// version held here is ErrNoSuchKey.
func openLocal(ctx context.Context, l Local, info store.ObjectInfo, off, n int64) (io.ReadCloser, error) {
	return openStamped(info, off, n, func(rng *store.Range) (store.ObjectInfo, io.ReadCloser, error) {
		return l.GetObject(ctx, info.Bucket, info.Key, rng)
	})
}

// openStamped opens the range off..off+n (all of it when n is 0) of what
// get returns when it carries info's stamp; another copy is
// store.ErrNoSuchKey.
func openStamped(info store.ObjectInfo, off, n int64, get func(*store.Range) (store.ObjectInfo, io.ReadCloser, error)) (io.ReadCloser, error) {
	rng := &store.Range{Start: off, End: off + n - 1}
	if n == 0 {
		rng = nil
	}
	got, rc, err := get(rng)
	if err != nil {
		return nil, err
	}
	if got.Stamp != info.Stamp {
		rc.Close()
		return nil, store.ErrNoSuchKey
	}
	return rc, nil
}

// DeleteObject implements store.Engine: a tombstone, newer than every
// write so far, at a write quorum of the key's targets; in a bucket with
// versioning, a delete marker (see DeleteObjectVersion).
func (e *Engine) DeleteObject(ctx context.Context, bucket, key string) error {
	_, err := e.DeleteObjectVersion(ctx, bucket, key, "")
	return err
}

// deleteTombstone writes a tombstone, newer than every write so far, at
// a write quorum of bucket/key's targets.
func (e *Engine) deleteTombstone(ctx context.Context, bucket, key string) error {
	if err := e.bucketExists(ctx, bucket); err != nil {
		return err
	}
	targets, stamp := e.targets(bucket, key), e.stamp()
	errs := make([]error, len(targets))
	_ = each(ctx, targets, func(ctx context.Context, n NodeStatus) error {
		i := indexOf(targets, n.Name)
		errs[i] = e.deleteAt(ctx, n, bucket, key, stamp)
		return nil
	})
	_, err := settle(targets, make([]store.ObjectInfo, len(targets)), errs, nil)
	e.missed(errs, nil)
	return err
}

func (e *Engine) deleteAt(ctx context.Context, n NodeStatus, bucket, key string, stamp store.Stamp) error {
	if e.self(n) {
		if err := ensureLocalBucket(ctx, e.local, bucket); err != nil {
			return err
		}
		return e.local.DeleteReplica(ctx, bucket, key, stamp)
	}
	return e.c.call(ctx, n.Endpoint, "POST", internalPrefix+"delete", keyArgs{Bucket: bucket, Key: key, Stamp: stamp}, nil)
}

func indexOf(ns []NodeStatus, name string) int {
	for i, n := range ns {
		if n.Name == name {
			return i
		}
	}
	return -1
}

// dropCorrupt forgets a copy that failed its checksums while another
// holder served the same version, so repair copies a good one back.
func (e *Engine) dropCorrupt(ctx context.Context, n NodeStatus, info store.ObjectInfo) {
	e.c.log.Warn("replica failed its checksums; dropping it for repair", "node", n.Name, "bucket", info.Bucket, "key", info.Key)
	var err error
	if e.self(n) {
		err = e.local.Drop(ctx, info.Bucket, info.Key, info.Stamp)
	} else {
		err = e.c.call(ctx, n.Endpoint, "POST", internalPrefix+"drop", keyArgs{Bucket: info.Bucket, Key: info.Key, Stamp: info.Stamp}, nil)
	}
	if err != nil {
		e.c.log.Warn("dropping a corrupt replica", "node", n.Name, "err", err)
	}
	e.c.repairSoon()
}

// OpenFile implements store.LocalFiles: the local data file when this
// node holds the newest copy, else store.ErrNotLocal.
func (e *Engine) OpenFile(ctx context.Context, bucket, key string) (store.ObjectInfo, *os.File, error) {
	info, holders, err := e.locate(ctx, bucket, key)
	if err != nil {
		return info, nil, err
	}
	if len(holders) == 0 || !e.self(holders[0]) {
		return info, nil, store.ErrNotLocal
	}
	got, f, err := e.local.OpenFile(ctx, bucket, key)
	if err != nil {
		return info, nil, err
	}
	if got.Stamp != info.Stamp {
		f.Close()
		return info, nil, store.ErrNotLocal
	}
	return got, f, nil
}

// Holders returns the names of the reachable nodes holding the newest
// copy of bucket/key (this node first when it is one).
func (e *Engine) Holders(ctx context.Context, bucket, key string) ([]string, error) {
	_, holders, err := e.locate(ctx, bucket, key)
	names := make([]string, len(holders))
	for i, h := range holders {
		names[i] = h.Name
	}
	return names, err
}
