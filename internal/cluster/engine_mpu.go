package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// A multipart upload lives on the node that created it (its home): the
// upload id is HOME.LOCALID, and every call on it runs there. Completing
// assembles the object at home, then copies it to its targets like a
// repair would, and home keeps no copy unless it is a target.

func homeOf(id string) (node, local string, ok bool) {
	node, local, ok = strings.Cut(id, ".")
	return node, local, ok && node != "" && local != ""
}

// home returns the reachable node of an upload id.
func (e *Engine) home(id string) (NodeStatus, string, error) {
	name, local, ok := homeOf(id)
	if !ok {
		return NodeStatus{}, "", store.ErrNoSuchUpload
	}
	for _, n := range e.c.Nodes() {
		if n.Name == name && n.State != StateDown {
			return n, local, nil
		}
	}
	return NodeStatus{}, "", store.ErrNoSuchUpload
}

// CreateMultipartUpload implements store.Engine. In a bucket with a
// default retention an upload naming none gets it here, counted from the
// upload's creation (a single node counts from its completion), so the
// object carries it to every replica.
func (e *Engine) CreateMultipartUpload(ctx context.Context, bucket, key string, opts store.PutOptions) (store.UploadInfo, error) {
	brec, err := e.bucketRecord(ctx, bucket)
	if err != nil {
		return store.UploadInfo{}, err
	}
	if err := ensureLocalBucket(ctx, e.local, bucket); err != nil {
		return store.UploadInfo{}, err
	}
	m := withDefaultRetention(opts.Meta, brec.ObjectLock, time.Now())
	u, err := e.local.CreateMultipartUpload(ctx, bucket, key, store.PutOptions{Meta: m, ChecksumAlgorithm: opts.ChecksumAlgorithm})
	u.UploadID = e.c.Name() + "." + u.UploadID
	return u, err
}

// UploadPart implements store.Engine, streaming the part to its home.
func (e *Engine) UploadPart(ctx context.Context, bucket, key, uploadID string, number int, r io.Reader, size int64, opts store.PutOptions) (store.PartInfo, error) {
	n, id, err := e.home(uploadID)
	if err != nil {
		return store.PartInfo{}, err
	}
	if e.self(n) {
		return e.local.UploadPart(ctx, bucket, key, id, number, r, size, opts)
	}
	check, err := newBodyCheck(r, size, opts)
	if err != nil {
		return store.PartInfo{}, err
	}
	a, _ := json.Marshal(putArgs{Algorithm: opts.ChecksumAlgorithm, Digest: true})
	q := url.Values{"bucket": {bucket}, "key": {key}, "upload": {id}, "part": {strconv.Itoa(number)}}
	tb := newDigestTrailer(check, check.digest, &e.chunks)
	resp, err := e.c.streamTrailer(ctx, n, "PUT", "part", q, map[string]string{"X-Insitu-Put": string(a)}, tb, tb.trailer)
	if err != nil {
		return store.PartInfo{}, err
	}
	defer resp.Body.Close()
	var p store.PartInfo
	return p, json.NewDecoder(resp.Body).Decode(&p)
}

// mpuCall runs a multipart call at the upload's home.
func (e *Engine) mpuCall(ctx context.Context, op string, a mpuArgs, out any, local func(id string) error) error {
	n, id, err := e.home(a.UploadID)
	if err != nil {
		return err
	}
	if e.self(n) {
		return local(id)
	}
	a.UploadID = id
	return e.c.call(ctx, n.Endpoint, "POST", internalPrefix+"mpu/"+op, a, out)
}

// ListParts implements store.Engine.
func (e *Engine) ListParts(ctx context.Context, bucket, key, uploadID string, marker, maxParts int) (res store.ListPartsResult, err error) {
	err = e.mpuCall(ctx, "parts", mpuArgs{Bucket: bucket, Key: key, UploadID: uploadID, Marker: marker, Max: maxParts}, &res, func(id string) error {
		res, err = e.local.ListParts(ctx, bucket, key, id, marker, maxParts)
		return err
	})
	res.Upload.UploadID = uploadID
	return res, err
}

// AbortMultipartUpload implements store.Engine.
func (e *Engine) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	return e.mpuCall(ctx, "abort", mpuArgs{Bucket: bucket, Key: key, UploadID: uploadID}, nil, func(id string) error {
		return e.local.AbortMultipartUpload(ctx, bucket, key, id)
	})
}

// CompleteMultipartUpload implements store.Engine: the home node
// assembles the object and places it; in a bucket with versioning it is
// a new version, its id made here from the stamp (as PutObject's).
func (e *Engine) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []store.CompletePart) (info store.ObjectInfo, err error) {
	state, err := e.versioning(ctx, bucket)
	if err != nil {
		return info, err
	}
	stamp := e.stamp()
	a := mpuArgs{Bucket: bucket, Key: key, UploadID: uploadID, Parts: parts, Opts: putArgs{Stamp: stamp, VersionID: versionIDFor(state, stamp)}}
	err = e.mpuCall(ctx, "complete", a, &info, func(id string) error {
		info, err = e.completeHere(ctx, bucket, key, id, parts, stamp, a.Opts.VersionID)
		return err
	})
	return info, err
}

// completeHere completes an upload homed here (as version versionID when
// set) and places the object.
func (e *Engine) completeHere(ctx context.Context, bucket, key, id string, parts []store.CompletePart, stamp store.Stamp, versionID string) (store.ObjectInfo, error) {
	var info store.ObjectInfo
	var err error
	if versionID != "" {
		info, err = e.local.CompleteMultipartUploadVersion(ctx, bucket, key, id, parts, stamp, versionID)
	} else {
		info, err = e.local.CompleteMultipartUploadAt(ctx, bucket, key, id, parts, stamp)
	}
	if err != nil {
		return info, err
	}
	return info, e.c.place(ctx, info)
}

// ListMultipartUploads implements store.Engine: every reachable node's
// uploads, ids qualified by their home, merged by key and then by
// qualified id (home node name, then the home's own order, which is by
// initiation), so one key's uploads page the same way on every node. A
// node that does not answer is left out (its uploads cannot be
// completed or aborted while it is away), unless no other node answered.
func (e *Engine) ListMultipartUploads(ctx context.Context, bucket string, opts store.ListUploadsOptions) (store.ListUploadsResult, error) {
	return e.listUploads(ctx, bucket, opts, false)
}

// listUploads lists uploads across the live nodes; strict fails when any
// of them does not answer (DeleteBucket: an upload on a node that did not
// answer must not be dropped with its bucket).
func (e *Engine) listUploads(ctx context.Context, bucket string, opts store.ListUploadsOptions, strict bool) (store.ListUploadsResult, error) {
	if err := e.bucketExists(ctx, bucket); err != nil {
		return store.ListUploadsResult{}, err
	}
	nodes := e.others(nil)
	res := make([]store.ListUploadsResult, len(nodes))
	errs := make([]error, len(nodes))
	_ = each(ctx, nodes, func(ctx context.Context, n NodeStatus) error {
		i := indexOf(nodes, n.Name)
		res[i], errs[i] = e.nodeUploads(ctx, n, bucket, uploadsFrom(opts, n.Name))
		for j := range res[i].Uploads {
			res[i].Uploads[j].UploadID = n.Name + "." + res[i].Uploads[j].UploadID
		}
		return nil
	})
	if err := listFailure(nodes, errs, e.c.Name()); err != nil {
		return store.ListUploadsResult{}, err
	}
	if err := errors.Join(errs...); strict && err != nil {
		return store.ListUploadsResult{}, err
	}
	for i, err := range errs {
		if err != nil {
			e.c.log.Warn("listing uploads: a node did not answer; listing without it", "node", nodes[i].Name, "err", err)
		}
	}
	return mergeUploads(res, opts.MaxUploads), nil
}

// nodeUploads lists one node's uploads of bucket (none when it holds no
// copy of the bucket).
func (e *Engine) nodeUploads(ctx context.Context, n NodeStatus, bucket string, o store.ListUploadsOptions) (store.ListUploadsResult, error) {
	var r store.ListUploadsResult
	if !e.self(n) {
		ctx, cancel := context.WithTimeout(ctx, ListTimeout)
		defer cancel()
		err := e.c.call(ctx, n.Endpoint, "POST", internalPrefix+"mpu/list", mpuArgs{Bucket: bucket, List: o}, &r)
		return r, err
	}
	r, err := e.local.ListMultipartUploads(ctx, bucket, o)
	if errors.Is(err, store.ErrNoSuchBucket) {
		return store.ListUploadsResult{}, nil
	}
	return r, err
}

// uploadsFrom turns a listing's markers into node's own: an upload id
// marker names its home, and the merged order puts one key's uploads by
// home name, so a node before the home has nothing left of the marker's
// key, the home goes on after its local id, and a node after the home
// lists all of that key's uploads (an id marker below every id).
func uploadsFrom(opts store.ListUploadsOptions, node string) store.ListUploadsOptions {
	home, local, ok := homeOf(opts.UploadIDMarker)
	switch {
	case opts.KeyMarker == "" || opts.UploadIDMarker == "":
	case !ok || node < home:
		opts.UploadIDMarker = ""
	case node == home:
		opts.UploadIDMarker = local
	default:
		opts.UploadIDMarker = "\x00"
	}
	return opts
}

// listFailure is a listing's error: this node's own when its listing
// failed, else the first when no other node answered (this node alone
// cannot vouch for the listing); nil when the listing can go on without
// the nodes that failed.
func listFailure(nodes []NodeStatus, errs []error, self string) error {
	remote, failed := 0, 0
	var first error
	for i, n := range nodes {
		if n.Name == self {
			if errs[i] != nil {
				return errs[i]
			}
			continue
		}
		remote++
		if errs[i] != nil {
			failed++
			first = cmp.Or(first, errs[i])
		}
	}
	if remote > 0 && failed == remote {
		return first
	}
	return nil
}

// uploadBefore orders one key's qualified upload ids: by home name, then
// by the home's local id.
func uploadBefore(a, b string) bool {
	ha, la, _ := homeOf(a)
	hb, lb, _ := homeOf(b)
	return ha < hb || (ha == hb && la < lb)
}

// mergeUploads merges node pages of uploads in (key, qualified id) order.
func mergeUploads(pages []store.ListUploadsResult, max int) store.ListUploadsResult {
	if max <= 0 || max > 1000 {
		max = 1000
	}
	var out store.ListUploadsResult
	prefixes := map[string]bool{}
	for _, p := range pages {
		out.Uploads = append(out.Uploads, p.Uploads...)
		out.IsTruncated = out.IsTruncated || p.IsTruncated
		for _, cp := range p.CommonPrefixes {
			prefixes[cp] = true
		}
	}
	for cp := range prefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, cp)
	}
	sort.Strings(out.CommonPrefixes)
	sort.Slice(out.Uploads, func(i, j int) bool {
		a, b := out.Uploads[i], out.Uploads[j]
		return a.Key < b.Key || (a.Key == b.Key && uploadBefore(a.UploadID, b.UploadID))
	})
	if len(out.Uploads) > max {
		out.Uploads, out.IsTruncated = out.Uploads[:max], true
	}
	if out.IsTruncated && len(out.Uploads) > 0 {
		last := out.Uploads[len(out.Uploads)-1]
		out.NextKeyMarker, out.NextUploadIDMarker = last.Key, last.UploadID
	}
	return out
}
