package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/insitu-cloud/insitu/internal/store"
)

// Handler serves the internal API (/_cluster/v1/...) to other members.
// Every request must carry a valid, fresh, first-seen signature of the
// cluster secret; nothing else (no user key, root's included) is accepted.
func (c *Cluster) Handler() http.Handler {
	c.handlerOnce.Do(func() { c.handler = c.newHandler() })
	return c.handler
}

func (c *Cluster) newHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+internalPrefix+"join", c.serveJoin)
	mux.HandleFunc("POST "+internalPrefix+"promote", c.servePromote)
	mux.HandleFunc("POST "+internalPrefix+"lookup", c.serveLookup)
	mux.HandleFunc("PUT "+internalPrefix+"object", c.servePut)
	mux.HandleFunc("GET "+internalPrefix+"object", c.serveGet)
	mux.HandleFunc("PUT "+internalPrefix+"replica", c.serveReplica)
	mux.HandleFunc("POST "+internalPrefix+"delete", c.serveDelete)
	mux.HandleFunc("POST "+internalPrefix+"drop", c.serveDrop)
	mux.HandleFunc("POST "+internalPrefix+"dropbucket", c.serveDropBucket)
	mux.HandleFunc("POST "+internalPrefix+"list", c.serveList)
	mux.HandleFunc("POST "+internalPrefix+"version", c.serveVersion)
	mux.HandleFunc("POST "+internalPrefix+"deleteversion", c.serveDeleteVersion)
	mux.HandleFunc("POST "+internalPrefix+"listversions", c.serveListVersions)
	mux.HandleFunc("POST "+internalPrefix+"versionacl", c.serveVersionACL)
	mux.HandleFunc("POST "+internalPrefix+"versionlock", c.serveVersionLock)
	mux.HandleFunc("POST "+internalPrefix+"expireversion", c.serveExpireVersion)
	mux.HandleFunc("POST "+internalPrefix+"lookupversions", c.serveLookupVersions)
	mux.HandleFunc("POST "+internalPrefix+"versiontomb", c.serveVersionTomb)
	mux.HandleFunc("POST "+internalPrefix+"versionsettings", c.serveVersionSettings)
	mux.HandleFunc("PUT "+internalPrefix+"part", c.servePart)
	mux.HandleFunc("POST "+internalPrefix+"mpu/{op}", c.serveMPU)
	mux.HandleFunc("GET "+internalPrefix+"blob/{digest}", c.serveBlob)
	for _, e := range c.extra {
		mux.Handle(e.pattern, e.h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := c.signer.Verify(r); err != nil {
			writeError(w, err)
			return
		}
		if c.local == nil && !strings.HasSuffix(r.URL.Path, "/join") {
			writeError(w, errors.New("cluster: node starting"))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Handle adds an internal endpoint for another package (METHOD and a
// path under InternalPrefix, as http.ServeMux patterns). It must be
// called before the node serves; the signature check applies to it.
func (c *Cluster) Handle(pattern string, h http.Handler) {
	c.extra = append(c.extra, extraRoute{pattern, h})
}

type extraRoute struct {
	pattern string
	h       http.Handler
}

// InternalPrefix is the path every internal endpoint lives under.
const InternalPrefix = internalPrefix

// Call sends a signed JSON request to the node named node (in the view)
// and decodes its JSON answer into out (when non-nil); a failed answer
// comes back as its storage sentinel when it was one.
func (c *Cluster) Call(ctx context.Context, node, method, path string, in, out any) error {
	for _, n := range c.Nodes() {
		if n.Name == node {
			return c.call(ctx, n.Endpoint, method, path, in, out)
		}
	}
	return ErrNoSuchNode
}

// Send signs req (whose X-Insitu- headers must be set) and sends it with
// the cluster's HTTP client; the caller closes the answer's body.
func (c *Cluster) Send(req *http.Request) (*http.Response, error) {
	c.signer.Sign(req)
	return c.http.Do(req)
}

// readJSON decodes a request body of at most 4 MiB into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(v); err != nil {
		writeError(w, err)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (c *Cluster) serveLookup(w http.ResponseWriter, r *http.Request) {
	var a lookupArgs
	if readJSON(w, r, &a) {
		hs, err := lookupLocal(r.Context(), c.local, a.Bucket, a.Keys)
		writeJSON(w, hs, err)
	}
}

// servePut is a stamped replica write streamed from a coordinator.
func (c *Cluster) servePut(w http.ResponseWriter, r *http.Request) {
	var a putArgs
	if err := json.Unmarshal([]byte(r.Header.Get("X-Insitu-Put")), &a); err != nil {
		writeError(w, err)
		return
	}
	c.clock.Observe(a.Stamp.HLC)
	q := r.URL.Query()
	e := c.engine
	info, err := e.localPut(r.Context(), q.Get("bucket"), q.Get("key"), r.Body, a, trailerDigest(r, a))
	writeJSON(w, info, err)
}

// serveGet streams a range of the local copy of one version.
func (c *Cluster) serveGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var stamp store.Stamp
	if err := json.Unmarshal([]byte(r.Header.Get("X-Insitu-Stamp")), &stamp); err != nil {
		writeError(w, err)
		return
	}
	off, _ := strconv.ParseInt(q.Get("off"), 10, 64)
	n, _ := strconv.ParseInt(q.Get("n"), 10, 64)
	info := store.ObjectInfo{Bucket: q.Get("bucket"), Key: q.Get("key"), Stamp: stamp, VersionID: q.Get("version")}
	open := openLocal
	if info.VersionID != "" {
		open = openVersionLocal // by id, not the latest
	}
	rc, err := open(r.Context(), c.local, info, off, n)
	if err != nil {
		writeError(w, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	if n > 0 {
		// A known length spares the stream its chunk framing; a failure
		// mid-body then closes the connection short of it, which the
		// reader sees as an unexpected EOF.
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	}
	if _, err := io.Copy(w, rc); errors.Is(err, store.ErrCorrupt) {
		// The reader fails over to another holder; this copy goes, so
		// repair copies a good one back.
		c.engine.dropCorrupt(context.WithoutCancel(r.Context()), NodeStatus{NodeRecord: NodeRecord{Name: c.Name()}}, info)
	}
}

// serveReplica stores an exact copy of a version (repair, rebalance,
// multipart placement).
func (c *Cluster) serveReplica(w http.ResponseWriter, r *http.Request) {
	info, err := readReplicaHead(r.Body)
	if err != nil {
		writeError(w, err)
		return
	}
	c.clock.Observe(info.Stamp.HLC)
	writeJSON(w, struct{}{}, c.local.PutReplica(r.Context(), info, r.Body))
}

func (c *Cluster) serveDelete(w http.ResponseWriter, r *http.Request) {
	var a keyArgs
	if readJSON(w, r, &a) {
		c.clock.Observe(a.Stamp.HLC)
		e := c.engine
		writeJSON(w, struct{}{}, e.deleteAt(r.Context(), NodeStatus{NodeRecord: NodeRecord{Name: c.Name()}}, a.Bucket, a.Key, a.Stamp))
	}
}

func (c *Cluster) serveDrop(w http.ResponseWriter, r *http.Request) {
	var a keyArgs
	if readJSON(w, r, &a) {
		writeJSON(w, struct{}{}, c.local.Drop(r.Context(), a.Bucket, a.Key, a.Stamp))
	}
}

func (c *Cluster) serveDropBucket(w http.ResponseWriter, r *http.Request) {
	var a keyArgs
	if readJSON(w, r, &a) {
		writeJSON(w, struct{}{}, c.local.DropBucket(r.Context(), a.Bucket))
	}
}

func (c *Cluster) serveList(w http.ResponseWriter, r *http.Request) {
	var a listArgs
	if readJSON(w, r, &a) {
		res, err := c.local.ListObjects(r.Context(), a.Bucket, a.Opts)
		if errors.Is(err, store.ErrNoSuchBucket) {
			res, err = store.ListResult{}, nil // holds nothing of it yet
		}
		writeJSON(w, res, err)
	}
}

func (c *Cluster) servePart(w http.ResponseWriter, r *http.Request) {
	var a putArgs
	if err := json.Unmarshal([]byte(r.Header.Get("X-Insitu-Put")), &a); err != nil {
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	n, _ := strconv.Atoi(q.Get("part"))
	opts := store.PutOptions{ChecksumAlgorithm: a.Algorithm, KnownDigest: trailerDigest(r, a)}
	p, err := c.local.UploadPart(r.Context(), q.Get("bucket"), q.Get("key"), q.Get("upload"), n, r.Body, -1, opts)
	writeJSON(w, p, err)
}

func (c *Cluster) serveMPU(w http.ResponseWriter, r *http.Request) {
	var a mpuArgs
	if !readJSON(w, r, &a) {
		return
	}
	ctx := r.Context()
	switch r.PathValue("op") {
	case "parts":
		res, err := c.local.ListParts(ctx, a.Bucket, a.Key, a.UploadID, a.Marker, a.Max)
		writeJSON(w, res, err)
	case "abort":
		writeJSON(w, struct{}{}, c.local.AbortMultipartUpload(ctx, a.Bucket, a.Key, a.UploadID))
	case "complete":
		c.clock.Observe(a.Opts.Stamp.HLC)
		e := c.engine
		info, err := e.completeHere(ctx, a.Bucket, a.Key, a.UploadID, a.Parts, a.Opts.Stamp, a.Opts.VersionID)
		writeJSON(w, info, err)
	case "list":
		res, err := c.local.ListMultipartUploads(ctx, a.Bucket, a.List)
		if errors.Is(err, store.ErrNoSuchBucket) {
			res, err = store.ListUploadsResult{}, nil
		}
		writeJSON(w, res, err)
	default:
		http.NotFound(w, r)
	}
}

// serveBlob hands out an app module this node keeps, by content hash.
func (c *Cluster) serveBlob(w http.ResponseWriter, r *http.Request) {
	if c.blobs == nil {
		http.NotFound(w, r)
		return
	}
	b, err := c.blobs(r.PathValue("digest"))
	if errors.Is(err, os.ErrNotExist) {
		http.NotFound(w, r) // the asker tries another node
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/wasm")
	_, _ = w.Write(b)
}

// serveVersion answers what this node holds of one version.
func (c *Cluster) serveVersion(w http.ResponseWriter, r *http.Request) {
	var a versionArgs
	if readJSON(w, r, &a) {
		h, err := versionLocal(r.Context(), c.local, a.Bucket, a.Key, a.Version)
		writeJSON(w, h, err)
	}
}

// serveDeleteVersion removes one version here (a coordinator's
// DeleteObjectVersion).
func (c *Cluster) serveDeleteVersion(w http.ResponseWriter, r *http.Request) {
	var a versionArgs
	if readJSON(w, r, &a) {
		res, err := c.engine.removeVersionAt(r.Context(), NodeStatus{NodeRecord: NodeRecord{Name: c.Name()}}, a)
		writeJSON(w, res, err)
	}
}

// serveListVersions lists a page of this node's versions.
func (c *Cluster) serveListVersions(w http.ResponseWriter, r *http.Request) {
	var a listVersionsArgs
	if readJSON(w, r, &a) {
		res, err := listVersionsLocal(r.Context(), c.local, a.Bucket, a.Opts)
		writeJSON(w, res, err)
	}
}

// serveVersionACL sets the ACL of one version here in place.
func (c *Cluster) serveVersionACL(w http.ResponseWriter, r *http.Request) {
	var a versionArgs
	if readJSON(w, r, &a) {
		writeJSON(w, struct{}{}, c.local.SetVersionACLAt(r.Context(), a.Bucket, a.Key, a.Version, a.ACL, a.Stamp))
	}
}

// serveVersionLock applies a lock change to one version here in place.
func (c *Cluster) serveVersionLock(w http.ResponseWriter, r *http.Request) {
	var a versionArgs
	if !readJSON(w, r, &a) {
		return
	}
	var ch store.LockChange // none sent: no change
	if a.Lock != nil {
		ch = *a.Lock
	}
	writeJSON(w, struct{}{}, c.local.SetVersionLock(r.Context(), a.Bucket, a.Key, a.Version, ch))
}

// serveExpireVersion expires one version here (a lifecycle pass's).
func (c *Cluster) serveExpireVersion(w http.ResponseWriter, r *http.Request) {
	var a versionArgs
	if readJSON(w, r, &a) {
		removed, err := expireVersionLocal(r.Context(), c.local, a)
		writeJSON(w, removed, err)
	}
}

// serveLookupVersions answers what this node holds of some versions.
func (c *Cluster) serveLookupVersions(w http.ResponseWriter, r *http.Request) {
	var a versionLookupArgs
	if readJSON(w, r, &a) {
		hs, err := lookupVersionsLocal(r.Context(), c.local, a)
		writeJSON(w, hs, err)
	}
}

// serveVersionTomb installs a version tombstone here (repair's).
func (c *Cluster) serveVersionTomb(w http.ResponseWriter, r *http.Request) {
	var tomb store.ObjectInfo
	if readJSON(w, r, &tomb) {
		writeJSON(w, struct{}{}, c.local.RemoveVersionReplica(r.Context(), tomb))
	}
}

// serveVersionSettings gives this node's copy of a version the newer ACL
// and lock settings repair brings.
func (c *Cluster) serveVersionSettings(w http.ResponseWriter, r *http.Request) {
	var a versionArgs
	if !readJSON(w, r, &a) {
		return
	}
	if a.Meta == nil {
		writeError(w, errors.New("cluster: versionsettings without settings"))
		return
	}
	writeJSON(w, struct{}{}, c.local.SyncVersionSettings(r.Context(), a.Bucket, a.Key, a.Version, a.Stamp, *a.Meta))
}
