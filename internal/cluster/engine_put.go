package cluster

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/store"
)

// stamp returns a new stamp of this node.
func (e *Engine) stamp() store.Stamp { return store.Stamp{HLC: e.c.clock.Now(), Node: e.c.Name()} }

// PutObject implements store.Engine: the body streams to every target at
// once (never buffered whole), each a stamped write; the client's digests
// are checked here, before any target sees the end of the body, so a bad
// body installs nowhere. It succeeds when a write quorum has it durably.
// In a bucket with a default retention, a version naming none gets it
// here, once, so every replica stores the same.
func (e *Engine) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, opts store.PutOptions) (store.ObjectInfo, error) {
	brec, err := e.bucketRecord(ctx, bucket)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	state := brec.Versioning
	if opts.IfNoneMatchStar {
		if _, err := e.HeadObject(ctx, bucket, key); err == nil {
			return store.ObjectInfo{}, store.ErrPreconditionFailed
		}
	}
	check, err := newBodyCheck(r, size, opts)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	targets := e.targets(bucket, key)
	args := putArgs{Meta: withDefaultRetention(opts.Meta, brec.ObjectLock, time.Now()), Algorithm: opts.ChecksumAlgorithm, Stamp: e.stamp(), Digest: true}
	args.VersionID = versionIDFor(state, args.Stamp) // the same id on every replica
	info, err := e.fanOut(ctx, targets, check, func(ctx context.Context, n NodeStatus, body io.Reader) (store.ObjectInfo, error) {
		a := args
		// Reads go to the first holder (readSet): only its copy is worth
		// the page cache, and it is read back by the device rather than
		// copied in (copying cost the cluster bench's PUT 16 MiB rows
		// 1.5-1.9x the server CPU per PUT; the read-back cost none that
		// showed).
		a.Cache = store.CacheNone
		if n.Name == targets[0].Name {
			a.Cache = store.CacheReadBack
		}
		if e.self(n) {
			return e.localPut(ctx, bucket, key, body, a, check.digest)
		}
		return e.peerPut(ctx, n, bucket, key, body, a, check.digest)
	})
	if err == nil && args.VersionID != "" {
		info.VersionID = args.VersionID
	}
	return info, err
}

// localPut is a stamped write into this node's engine; digest (nil: none)
// supplies the body's MD5 and CRC-32C once it has been read.
func (e *Engine) localPut(ctx context.Context, bucket, key string, body io.Reader, a putArgs, digest func() (store.BodyDigest, error)) (store.ObjectInfo, error) {
	if err := ensureLocalBucket(ctx, e.local, bucket); err != nil {
		return store.ObjectInfo{}, err
	}
	opts := store.PutOptions{Meta: a.Meta, ChecksumAlgorithm: a.Algorithm, Stamp: a.Stamp, KnownDigest: digest, VersionID: a.VersionID, Cache: a.Cache}
	if a.Stamp.HLC != 0 {
		opts.Modified = HLCTime(a.Stamp.HLC) // the coordinator's time, the same on every replica
	}
	return e.local.PutObject(ctx, bucket, key, body, -1, opts)
}

// ensureLocalBucket makes the local engine hold bucket (the cluster's
// record is in etcd; a node keeps a local one for the objects it holds).
// It reads first: CreateBucket takes the bucket's exclusive lock, which
// waits for every write in flight in the bucket and holds back new ones,
// so calling it on every write serialises the node's writes.
func ensureLocalBucket(ctx context.Context, l store.Engine, bucket string) error {
	if _, err := l.GetBucket(ctx, bucket); err == nil {
		return nil
	}
	err := l.CreateBucket(ctx, store.BucketInfo{Name: bucket})
	if errors.Is(err, store.ErrBucketOwnedByYou) || errors.Is(err, store.ErrBucketExists) {
		return nil
	}
	return err
}

// peerPut streams body to node n's internal write, the body's digest
// following it in a trailer.
func (e *Engine) peerPut(ctx context.Context, n NodeStatus, bucket, key string, body io.Reader, a putArgs, digest func() (store.BodyDigest, error)) (store.ObjectInfo, error) {
	var info store.ObjectInfo
	hdr, _ := json.Marshal(a)
	q := url.Values{"bucket": {bucket}, "key": {key}}
	tb := newDigestTrailer(body, digest, &e.chunks)
	resp, err := e.c.streamTrailer(ctx, n, "PUT", "object", q, map[string]string{"X-Insitu-Put": string(hdr)}, tb, tb.trailer)
	if err != nil {
		return info, err
	}
	defer resp.Body.Close()
	return info, json.NewDecoder(resp.Body).Decode(&info)
}

// stream sends a signed request with a streamed body (chunked: the peer
// sees the end of the body only when body returns EOF). A body that is an
// io.Closer is closed by the HTTP client, even on errors, and possibly
// after stream returned (the client may still be sending it when an
// early answer arrives): its owner must not close it or reuse what it
// reads from.
func (c *Cluster) stream(ctx context.Context, n NodeStatus, method, op string, q url.Values, hdr map[string]string, body io.Reader) (*http.Response, error) {
	return c.streamTrailer(ctx, n, method, op, q, hdr, body, nil)
}

// streamTrailer is stream with request trailers (nil: none), whose values
// the body sets before it returns EOF.
func (c *Cluster) streamTrailer(ctx context.Context, n NodeStatus, method, op string, q url.Values, hdr map[string]string, body io.Reader, trailer http.Header) (*http.Response, error) {
	if _, ok := body.(io.Closer); !ok && body != nil {
		body = io.NopCloser(body) // hide any length: always chunked
	}
	req, err := http.NewRequestWithContext(ctx, method, n.Endpoint+internalPrefix+op+"?"+q.Encode(), body)
	if err != nil {
		if cl, ok := body.(io.Closer); ok {
			cl.Close()
		}
		return nil, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	req.Trailer = trailer
	c.signer.Sign(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, remoteError(resp)
	}
	return resp, nil
}

// streamChunk is the size of the buffers a write's body is copied
// through: the fan-out's reads and each peer stream's socket writes.
const streamChunk = 256 << 10

// chunkPool keeps buffers of streamChunk bytes; the zero value is ready.
type chunkPool struct{ p sync.Pool }

func (c *chunkPool) get() *[]byte {
	if b, ok := c.p.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, streamChunk)
	return &b
}

func (c *chunkPool) put(b *[]byte) { c.p.Put(b) }

// writeFn writes one target's copy from body.
type writeFn func(ctx context.Context, n NodeStatus, body io.Reader) (store.ObjectInfo, error)

// Timeouts of a fanned-out write: a target that takes no bytes for
// StallTimeout is dropped (a paused or partitioned node must not hold the
// write), and once a quorum has acknowledged, the rest get AckGrace.
const (
	StallTimeout = 10 * time.Second
	AckGrace     = 5 * time.Second
)

// fanTarget is one target of a fanned-out write.
type fanTarget struct {
	n      NodeStatus
	pr     *io.PipeReader
	pw     *io.PipeWriter
	cancel context.CancelFunc
	done   chan struct{}
	info   store.ObjectInfo
	err    error
}

// fanOut copies src to every target at once through pipes. A target that
// fails or stalls drops out; the write succeeds when a quorum acknowledged
// it (a superseded write counts: a newer one won).
func (e *Engine) fanOut(ctx context.Context, targets []NodeStatus, src io.Reader, write writeFn) (store.ObjectInfo, error) {
	ts := make([]*fanTarget, len(targets))
	for i, n := range targets {
		pr, pw := io.Pipe()
		tctx, cancel := context.WithCancel(ctx)
		t := &fanTarget{n: n, pr: pr, pw: pw, cancel: cancel, done: make(chan struct{})}
		ts[i] = t
		go func() {
			defer close(t.done)
			defer cancel()
			t.info, t.err = write(tctx, n, pr)
			pr.CloseWithError(errDone(t.err)) // unblock the copier
		}()
	}
	bp := e.chunks.get()
	cerr := copyAll(ts, src, *bp, quorum(len(ts)))
	e.chunks.put(bp)
	for _, t := range ts {
		t.pw.CloseWithError(cerr) // nil: a clean EOF, the commit signal
	}
	awaitAcks(ts, cerr == nil)
	infos, errs := make([]store.ObjectInfo, len(ts)), make([]error, len(ts))
	for i, t := range ts {
		infos[i], errs[i] = t.info, t.err
	}
	e.missed(errs, cerr)
	return settle(targets, infos, errs, cerr)
}

// missed asks for a repair pass when a write reached fewer than all its
// targets for a reason of theirs (not a newer write that won, not the
// request's own fault, not a body the client broke: cerr): its
// acknowledged copies are short of the wanted number until a pass
// copies them.
func (e *Engine) missed(errs []error, cerr error) {
	if cerr != nil {
		return
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, store.ErrSuperseded) && !isClientFault(err) {
			e.c.repairSoon()
			return
		}
	}
}

// awaitAcks waits for every target: each gets StallTimeout after the
// body's end to acknowledge (a paused node takes a small body into its
// socket buffers and never answers), and once a quorum has acknowledged
// (and the body was whole) the others get AckGrace; then they are
// cancelled.
func awaitAcks(ts []*fanTarget, whole bool) {
	deadline := time.Now().Add(StallTimeout)
	acked, need := 0, quorum(len(ts))
	for _, t := range ts {
		select {
		case <-t.done:
		case <-time.After(time.Until(deadline)):
			t.cancel()
			<-t.done
		}
		if whole && (t.err == nil || errors.Is(t.err, store.ErrSuperseded)) {
			if acked++; acked == need && time.Until(deadline) > AckGrace {
				deadline = time.Now().Add(AckGrace)
			}
		}
	}
}

func errDone(err error) error {
	if err == nil {
		return io.ErrClosedPipe
	}
	return err
}

var errStalled = errors.New("cluster: replica stalled")

// copyAll copies src to every target through buf, each chunk to all of
// them at once, dropping targets that fail or take no bytes for
// StallTimeout, until EOF; it fails when fewer than need targets are left.
func copyAll(ts []*fanTarget, src io.Reader, buf []byte, need int) error {
	live := append([]*fanTarget(nil), ts...)
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if live = writeChunk(live, buf[:n]); len(live) < need {
				return fmt.Errorf("%w: too few replicas took the write", store.ErrUnavailable)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// writeChunk writes p to every target in parallel and returns the ones
// that took it within StallTimeout; the others are cut.
func writeChunk(live []*fanTarget, p []byte) []*fanTarget {
	type result struct {
		i  int
		ok bool
	}
	results := make(chan result, len(live))
	for i, t := range live {
		go func() {
			_, err := t.pw.Write(p)
			results <- result{i, err == nil}
		}()
	}
	ok, got := make([]bool, len(live)), make([]bool, len(live))
	timeout := time.After(StallTimeout)
	for n := 0; n < len(live); n++ {
		select {
		case r := <-results:
			ok[r.i], got[r.i] = r.ok, true
		case <-timeout:
			for i, t := range live {
				if !got[i] {
					t.pr.CloseWithError(errStalled) // unblocks its pending Write
					t.cancel()
				}
			}
			timeout = nil
			n-- // still wait for the cut writes to return
		}
	}
	kept := live[:0]
	for i, t := range live {
		if ok[i] {
			kept = append(kept, t)
		}
	}
	return kept
}

// settle turns the targets' outcomes into the write's.
func settle(targets []NodeStatus, infos []store.ObjectInfo, errs []error, cerr error) (store.ObjectInfo, error) {
	if cerr != nil {
		return store.ObjectInfo{}, cerr
	}
	ok, info := 0, store.ObjectInfo{}
	var firstErr error
	for i := range targets {
		switch {
		case errs[i] == nil:
			ok++
			if info.ETag == "" {
				info = infos[i]
			}
		case errors.Is(errs[i], store.ErrSuperseded):
			ok++
		case firstErr == nil:
			firstErr = errs[i]
		}
	}
	if ok >= quorum(len(targets)) {
		return info, nil
	}
	for _, err := range errs {
		if isClientFault(err) {
			return store.ObjectInfo{}, err // the same answer every replica gave
		}
	}
	return store.ObjectInfo{}, fmt.Errorf("%w: the write reached %d of %d replicas (%v)", store.ErrUnavailable, ok, len(targets), firstErr)
}

// isClientFault reports whether a replica refused the write for a reason
// of the request's own (so it is the answer, not an outage).
func isClientFault(err error) bool {
	for _, s := range []error{store.ErrNoSuchBucket, store.ErrNoSuchUpload, store.ErrInvalidPart, store.ErrInvalidPartOrder,
		store.ErrEntityTooSmall, store.ErrBadDigest, store.ErrIncompleteBody, store.ErrPreconditionFailed,
		store.ErrObjectLocked} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// bodyCheck reads a client body, counting it and hashing what the client
// asked to verify; at EOF it returns the verdict instead of EOF when the
// body is short, long or does not match.
type bodyCheck struct {
	r      io.Reader
	size   int64
	n      int64
	md5    hash.Hash
	md5Sum []byte // set by verdict: the digest is read by every target at once
	want   []byte
	crc    hash.Hash32
	sum    hash.Hash
	expect func() string
	whole  bool // the body was read to EOF and passed every check
}

// digest returns the body's MD5 and CRC-32C; it fails until the body has
// been read to EOF and passed every check.
func (b *bodyCheck) digest() (store.BodyDigest, error) {
	if !b.whole {
		return store.BodyDigest{}, errors.New("cluster: the body was not read whole")
	}
	return store.BodyDigest{MD5: b.md5Sum, CRC32C: b.crc.Sum32()}, nil
}

// newBodyCheck always hashes the body with MD5 and CRC-32C: the replicas
// take the MD5 as the ETag instead of hashing the body again (see digest).
// (The SIMD lanes of store/local are not used here: a node coordinates
// too few puts at once to fill them, and a half-empty cycle of theirs cost
// more CPU than crypto/md5 in the cluster bench.)
func newBodyCheck(r io.Reader, size int64, opts store.PutOptions) (*bodyCheck, error) {
	b := &bodyCheck{r: r, size: size, want: opts.MD5, expect: opts.ExpectedChecksum,
		md5: md5.New(), crc: crc32.New(crc32.MakeTable(crc32.Castagnoli))}
	if opts.ExpectedChecksum != nil && opts.ChecksumAlgorithm != "" {
		h, err := checksum.New(opts.ChecksumAlgorithm)
		if err != nil {
			return nil, err
		}
		b.sum = h
	}
	return b, nil
}

func (b *bodyCheck) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	for _, h := range []hash.Hash{b.md5, b.crc, b.sum} {
		if h != nil {
			h.Write(p[:n])
		}
	}
	if b.size >= 0 && b.n > b.size {
		return n, store.ErrIncompleteBody
	}
	if err == io.EOF {
		err = b.verdict()
	}
	return n, err
}

func (b *bodyCheck) verdict() error {
	if b.size >= 0 && b.n != b.size {
		return store.ErrIncompleteBody
	}
	b.md5Sum = b.md5.Sum(nil)
	if b.want != nil && !bytes.Equal(b.md5Sum, b.want) {
		return store.ErrBadDigest
	}
	if b.sum != nil {
		if want := b.expect(); want != "" && want != checksum.Encode(b.sum.Sum(nil)) {
			return store.ErrBadDigest
		}
	}
	b.whole = true
	return io.EOF
}
