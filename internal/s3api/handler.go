package s3api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/store"
)

// Config wires a Handler.
type Config struct {
	Engine   store.Engine
	Verifier *sigv4.Verifier
	// Region is reported by GetBucketLocation and HeadBucket. Default
	// sigv4.DefaultRegion.
	Region string
	// Domain enables virtual-host style requests for BUCKET.Domain; empty
	// disables it.
	Domain string
	// Runner serves the compute extensions (transform on GET, open-with,
	// run on write); nil answers them NotImplemented.
	Runner Runner
	// BucketDeleted, when set, is called after DeleteBucket succeeds, so
	// everything attached to the bucket (open-with bindings) goes with it.
	// It runs on the
	// request's goroutine with a context that is not cancelled by the
	// client going away; it cannot fail the (already done) deletion.
	BucketDeleted func(ctx context.Context, bucket string)
	// KV keeps bucket configuration: policies, ACLs and PublicAccessBlocks
	// under AccessPrefix (nil keeps none: every bucket private; see
	// access.go) and CORS under CORSPrefix (nil answers the CORS
	// operations NotImplemented). A meta.Cached covering both answers
	// requests from memory.
	KV meta.Store
}

// Handler serves the S3 API.
type Handler struct {
	engine   store.Engine
	verifier *sigv4.Verifier
	region   string
	domain   string
	runner   Runner
	deleted  func(ctx context.Context, bucket string)
	access   accessStore
	kv       meta.Store
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.Region == "" {
		cfg.Region = sigv4.DefaultRegion
	}
	return &Handler{engine: cfg.Engine, verifier: cfg.Verifier, region: cfg.Region, domain: strings.ToLower(cfg.Domain), runner: cfg.Runner,
		deleted: cfg.BucketDeleted, access: accessStore{cfg.KV}, kv: cfg.KV}
}

// request is one authenticated S3 request being served.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	ctx     context.Context
	q       url.Values
	account string // the account's id: what owner fields store; auth.Anonymous when unsigned
	name    string // the account's name: what clients see
	bucket  string
	key     string
	auth    *sigv4.Result
}

// VirtualBucket returns the bucket named by the Host header in
// virtual-host style (BUCKET.domain), or "".
func (h *Handler) VirtualBucket(r *http.Request) string {
	if h.domain == "" {
		return ""
	}
	host := strings.ToLower(r.Host)
	if hst, _, err := net.SplitHostPort(host); err == nil {
		host = hst
	}
	if b, ok := strings.CutSuffix(host, "."+h.domain); ok && b != "" {
		return b
	}
	return ""
}

func (h *Handler) target(r *http.Request) (bucket, key string) {
	if b := h.VirtualBucket(r); b != "" {
		return b, strings.TrimPrefix(r.URL.Path, "/")
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bucket, key := h.target(r)
	q := r.URL.Query()
	op := opName(r.Method, bucket, key, q, r.Header)
	if cop := corsPostOp(r.Method, key, q, r.Header); cop != "" {
		op = cop
	}
	obs.SetOp(ctx, "s3", op)
	w.Header().Set("Server", "insitu")
	if h.serveUnsigned(w, r, bucket, op) {
		return
	}
	res, err := h.verifier.VerifyS3(ctx, r)
	if sigv4.Anonymous(err) {
		res, err = &sigv4.Result{DecodedLength: r.ContentLength}, nil
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	info := obs.FromContext(ctx)
	info.Account, info.AccountID = res.Credential.Account, res.Credential.AccountID
	if res.Body != nil {
		r.Body = res.Body
	}
	req := &request{w: w, r: r, ctx: ctx, q: q, account: res.Credential.AccountID, name: res.Credential.Account, bucket: bucket, key: key, auth: res}
	if res.Deferred && !deferrable[op] {
		writeError(w, r, errDeferredRefused)
		return
	}
	if err := h.dispatch(req, op); err != nil {
		if res.Deferred {
			err = deferredError(r.Body, err)
		}
		writeError(w, r, err)
	}
}

// deferrable are the operations that read the whole body before they
// commit anything, so a request whose signature is only checked at the
// body's EOF (sigv4.Result.Deferred) can go through them: a mismatch
// fails the write and nothing is stored.
var deferrable = map[string]bool{"PutObject": true, "UploadPart": true}

var errDeferredRefused = &APIError{http.StatusBadRequest, "InvalidRequest",
	"Missing required header for this request: x-amz-content-sha256 (needed for a body over 1 MiB or of unknown length on this operation)"}

// deferredError decides what a failed request whose signature is checked
// at the body's EOF answers: the signature's failure when the body does
// not match it (so an unauthenticated caller learns nothing from err),
// else err. It reads what is left of the body, at most maxPutSize bytes.
func deferredError(body io.Reader, err error) error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		return err
	}
	_, rerr := io.Copy(io.Discard, io.LimitReader(body, maxPutSize+1))
	if errors.As(rerr, &se) {
		return rerr
	}
	return err
}

func (h *Handler) dispatch(req *request, op string) error {
	if len(req.key) > 1024 {
		return errKeyTooLong
	}
	if writesKey[op] && !utf8.ValidString(req.key) {
		return errKeyNotUTF8
	}
	if req.bucket == "" || op == "CreateBucket" {
		if req.isAnonymous() {
			return anonymousRefused
		}
	} else if err := h.authorizeOp(req, op); err != nil {
		return err
	}
	if done, err := h.serveAccess(req, op); done {
		return err
	}
	if done, err := h.serveLock(req, op); done {
		return err
	}
	switch op {
	case "ListBuckets":
		return h.listBuckets(req)
	case "CreateBucket":
		return h.createBucket(req)
	case "DeleteBucket":
		return h.deleteBucket(req)
	case "HeadBucket":
		return h.headBucket(req)
	case "GetBucketLocation":
		return h.getBucketLocation(req)
	case "GetBucketVersioning":
		return h.getBucketVersioning(req)
	case "PutBucketVersioning":
		return h.putBucketVersioning(req)
	case "PutBucketCors", "GetBucketCors", "DeleteBucketCors":
		return h.bucketCors(req, op)
	case "PutBucketLifecycle", "GetBucketLifecycle", "DeleteBucketLifecycle":
		return h.bucketLifecycle(req, op)
	case "ListObjects":
		return h.listObjects(req, 1)
	case "ListObjectsV2":
		return h.listObjects(req, 2)
	case "ListObjectVersions":
		return h.listObjectVersions(req)
	case "ListMultipartUploads":
		return h.listMultipartUploads(req)
	case "DeleteObjects":
		return h.deleteObjects(req)
	case "PutObject":
		return h.putObject(req)
	case "CopyObject":
		return h.copyObject(req)
	case "GetObjectAttributes":
		return h.getObjectAttributes(req)
	case "GetObject", "HeadObject":
		return h.getObject(req, op == "HeadObject")
	case "DeleteObject":
		return h.deleteObject(req)
	case "CreateMultipartUpload":
		return h.createMultipartUpload(req)
	case "UploadPart":
		return h.uploadPart(req)
	case "UploadPartCopy":
		return h.uploadPartCopy(req)
	case "CompleteMultipartUpload":
		return h.completeMultipartUpload(req)
	case "AbortMultipartUpload":
		return h.abortMultipartUpload(req)
	case "ListParts":
		return h.listParts(req)
	case "TransformObject":
		return h.transformObject(req, "transform")
	case "OpenObject":
		return h.transformObject(req, "open")
	case "RunOnWrite":
		return h.runOnWrite(req)
	case "GetObjectTagging":
		if _, err := h.engine.HeadObject(req.ctx, req.bucket, req.key); err != nil {
			return err
		}
		writeXML(req.w, tagging{})
		return nil
	}
	if e, ok := unconfigured[op]; ok {
		return e
	}
	if op == "MethodNotAllowed" {
		return errMethodNotAllowed
	}
	return errNotImplemented
}

// writesKey are the operations that create an object under req.key (run
// on write also creates objects under x-insitu-out). Keys that are not
// UTF-8 are refused there; existing ones stay readable and deletable.
var writesKey = map[string]bool{
	"PutObject": true, "CopyObject": true, "CreateMultipartUpload": true, "RunOnWrite": true,
}

// owner is the requester as S3 shows an owner: id and display name.
func (req *request) owner() owner { return owner{ID: req.account, DisplayName: req.name} }

// unconfigured answers GETs of bucket sub-resources insitu does not keep,
// the way S3 answers for a bucket that never had them configured.
var unconfigured = map[string]*APIError{
	"GetBucketTagging":    {http.StatusNotFound, "NoSuchTagSet", "The TagSet does not exist"},
	"GetBucketEncryption": {http.StatusNotFound, "ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found"},
	"GetBucketWebsite":    {http.StatusNotFound, "NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration"},
}
