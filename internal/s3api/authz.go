package s3api

import (
	"context"
	"errors"
	"net"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/store"
)

// opActions maps each operation on a bucket to the action auth.Authorize
// weighs. Operations missing here are auth.ActionOther (owner only).
// DeleteObjects is authorized per key (s3:DeleteObject) as it deletes.
var opActions = map[string]string{
	"DeleteBucket":            "s3:DeleteBucket",
	"HeadBucket":              "s3:ListBucket",
	"GetBucketLocation":       "s3:GetBucketLocation",
	"GetBucketVersioning":     "s3:GetBucketVersioning",
	"PutBucketVersioning":     "s3:PutBucketVersioning",
	"GetBucketAcl":            "s3:GetBucketAcl",
	"PutBucketAcl":            "s3:PutBucketAcl",
	"GetObjectAcl":            "s3:GetObjectAcl",
	"PutObjectAcl":            "s3:PutObjectAcl",
	"GetBucketPolicy":         "s3:GetBucketPolicy",
	"GetBucketLifecycle":      "s3:GetLifecycleConfiguration",
	"PutBucketLifecycle":      "s3:PutLifecycleConfiguration",
	"DeleteBucketLifecycle":   "s3:PutLifecycleConfiguration",
	"PutBucketPolicy":         "s3:PutBucketPolicy",
	"DeleteBucketPolicy":      "s3:DeleteBucketPolicy",
	"GetPublicAccessBlock":    "s3:GetBucketPublicAccessBlock",
	"PutPublicAccessBlock":    "s3:PutBucketPublicAccessBlock",
	"DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
	"ListObjects":             "s3:ListBucket",
	"ListObjectsV2":           "s3:ListBucket",
	"ListObjectVersions":      "s3:ListBucketVersions",
	"ListMultipartUploads":    "s3:ListBucketMultipartUploads",
	"DeleteObjects":           "",
	"PutObject":               "s3:PutObject",
	"CopyObject":              "s3:PutObject",
	"CreateMultipartUpload":   "s3:PutObject",
	"UploadPart":              "s3:PutObject",
	"UploadPartCopy":          "s3:PutObject",
	"CompleteMultipartUpload": "s3:PutObject",
	"AbortMultipartUpload":    "s3:AbortMultipartUpload",
	"ListParts":               "s3:ListMultipartUploadParts",
	"GetObject":               "s3:GetObject",
	"HeadObject":              "s3:GetObject",
	"GetObjectAttributes":     "s3:GetObjectAttributes",
	"DeleteObject":            "s3:DeleteObject",
	"GetObjectTagging":        "s3:GetObjectTagging",
	"PutObjectLockConfig":     "s3:PutBucketObjectLockConfiguration",
	"GetObjectLockConfig":     "s3:GetBucketObjectLockConfiguration",
	"PutObjectRetention":      "s3:PutObjectRetention",
	"GetObjectRetention":      "s3:GetObjectRetention",
	"PutObjectLegalHold":      "s3:PutObjectLegalHold",
	"GetObjectLegalHold":      "s3:GetObjectLegalHold",
	"TransformObject":         auth.ActionCompute,
	"OpenObject":              auth.ActionCompute,
	"RunOnWrite":              auth.ActionCompute,
}

// versionActions are the actions of operations on one version of an
// object (a versionId query), as AWS names them.
var versionActions = map[string]string{
	"s3:GetObject":           "s3:GetObjectVersion",
	"s3:GetObjectAttributes": "s3:GetObjectVersionAttributes",
	"s3:DeleteObject":        "s3:DeleteObjectVersion",
	"s3:GetObjectAcl":        "s3:GetObjectVersionAcl",
	"s3:PutObjectAcl":        "s3:PutObjectVersionAcl",
}

// setsACL are the writes that take x-amz-acl, which also needs
// s3:PutObjectAcl (owner only), as in S3.
var setsACL = map[string]bool{"PutObject": true, "CopyObject": true, "CreateMultipartUpload": true}

// authorizeOp is the decision for one request on an existing bucket: it
// reads the bucket (NoSuchBucket first, as S3 answers) and its access
// settings, then asks auth.Authorize for the operation's action.
func (h *Handler) authorizeOp(req *request, op string) error {
	if !validBucketName(req.bucket) {
		if h.VirtualBucket(req.r) == "" && isReserved(req.bucket) {
			return errNoSuchBucket
		}
		return errInvalidBucketName
	}
	action, ok := opActions[op]
	if !ok {
		action = auth.ActionOther
	}
	if va, ok := versionActions[action]; ok && req.q.Has("versionId") {
		action = va
	}
	if action == "" {
		_, err := h.bucketAccess(req, req.bucket)
		return err
	}
	if setsACL[op] && len(req.r.Header.Values("x-amz-acl")) > 0 {
		if err := h.authorizeSetACL(req); err != nil {
			return err
		}
	}
	return h.authorize(req, req.bucket, req.key, action)
}

// bucketAccess returns bucket's owner and settings as auth weighs them.
func (h *Handler) bucketAccess(req *request, bucket string) (*auth.BucketAccess, error) {
	return loadBucketAccess(req.ctx, h.engine, h.access, bucket)
}

// loadBucketAccess reads bucket (its owner) and its access settings.
func loadBucketAccess(ctx context.Context, engine store.Engine, access accessStore, bucket string) (*auth.BucketAccess, error) {
	info, err := engine.GetBucket(ctx, bucket)
	if err != nil {
		return nil, err
	}
	e, err := access.get(ctx, bucket)
	if err != nil {
		return nil, err
	}
	a := &auth.BucketAccess{Owner: info.Owner, Policy: e.policy, ACL: e.acl}
	if e.rec.Block != nil {
		a.Block = *e.rec.Block
	}
	return a, nil
}

// authorize decides action on bucket/key for req's principal. An object
// read that only the object's own ACL could grant reads the object's
// metadata; a missing object is then AccessDenied, so a caller without
// rights learns nothing of which keys exist. The version weighed is the
// one the request names when bucket/key is the request's own object.
func (h *Handler) authorize(req *request, bucket, key, action string) error {
	vid, named := "", false
	if bucket == req.bucket && key == req.key && req.q.Has("versionId") {
		vid, named = req.q.Get("versionId"), true
	}
	return h.authorizeVersion(req, objectVersion{bucket, key, vid, named}, action)
}

// objectVersion names the object an authorization is about: a version of
// it when named (versionId given, even empty), else its latest.
type objectVersion struct {
	bucket, key, vid string
	named            bool
}

// authorizeVersion is authorize for the object version o: when the
// bucket's settings refuse a read, it is o's own ACL that may grant it
// (a copy source's version as much as the request's own).
func (h *Handler) authorizeVersion(req *request, o objectVersion, action string) error {
	a, err := h.bucketAccess(req, o.bucket)
	if err != nil {
		return err
	}
	ar := auth.Request{Principal: req.account, Action: action, Bucket: o.bucket, Key: o.key}
	if a.Policy != nil { // only a policy reads conditions
		ar.Context = req.conditions()
	}
	err = decide(a, ar, func() (store.ObjectInfo, error) { return h.aclSubject(req, o) })
	if errors.Is(err, auth.ErrAccessDenied) {
		return errAccessDenied
	}
	return err
}

// allowed asks the one decision, for each of actions, whether req's
// principal may do it on the request's own object (req.bucket/req.key,
// the version it names), with the bucket's settings read once; a
// response whose content depends on further actions (the Object Lock
// headers of GET and HEAD) uses it. An action refused is false; only a
// failure to read the settings is an error.
func (h *Handler) allowed(req *request, actions ...string) ([]bool, error) {
	a, err := h.bucketAccess(req, req.bucket)
	if err != nil {
		return nil, err
	}
	o := objectVersion{req.bucket, req.key, req.q.Get("versionId"), req.q.Has("versionId")}
	ar := auth.Request{Principal: req.account, Bucket: req.bucket, Key: req.key}
	if a.Policy != nil {
		ar.Context = req.conditions()
	}
	ok := make([]bool, len(actions))
	for i, action := range actions {
		ar.Action = action
		err := decide(a, ar, func() (store.ObjectInfo, error) { return h.aclSubject(req, o) })
		if err != nil && !errors.Is(err, auth.ErrAccessDenied) {
			return nil, err
		}
		ok[i] = err == nil
	}
	return ok, nil
}

// decide is auth.Authorize with the one fallback S3 has: an object read
// the bucket's settings refuse may still be granted by the object's own
// canned ACL (unless PublicAccessBlock ignores public ACLs); subject
// reads the object whose ACL counts (store.ErrNoSuchKey: none).
func decide(a *auth.BucketAccess, ar auth.Request, subject func() (store.ObjectInfo, error)) error {
	err := auth.Authorize(a, ar)
	if err != nil && ar.Key != "" && objectReads[ar.Action] && !a.Block.IgnorePublicAcls {
		info, herr := subject()
		if herr != nil && !errors.Is(herr, store.ErrNoSuchKey) {
			return herr
		}
		ar.ObjectACL = cannedGrants[info.Meta.ACL]
		err = auth.Authorize(a, ar)
	}
	return err
}

// aclSubject returns the metadata of the object version o (the latest
// unless o names one) whose own ACL may grant a read. A version that is
// missing or a delete marker reads as store.ErrNoSuchKey.
func (h *Handler) aclSubject(req *request, o objectVersion) (store.ObjectInfo, error) {
	if !o.named {
		return h.engine.HeadObject(req.ctx, o.bucket, o.key)
	}
	info, err := h.headVersion(req.ctx, o.bucket, o.key, o.vid)
	for _, e := range []error{store.ErrNoSuchVersion, store.ErrInvalidVersionID, store.ErrVersionIsDeleteMarker, errInvalidVersionID} {
		if errors.Is(err, e) {
			return info, store.ErrNoSuchKey
		}
	}
	return info, err
}

// objectReads are the actions an object's own ACL can grant.
var objectReads = map[string]bool{"s3:GetObject": true, "s3:GetObjectAttributes": true, "s3:GetObjectVersion": true, "s3:GetObjectVersionAttributes": true}

// conditions are the policy condition keys of req (lower case): the
// caller (aws:PrincipalAccount, aws:PrincipalType), the connection
// (aws:SourceIp from the peer address, never a forwarded header;
// aws:SecureTransport), aws:UserAgent, aws:Referer, and for listings
// s3:prefix, s3:delimiter and s3:max-keys when sent, s3:x-amz-acl.
func (req *request) conditions() map[string][]string {
	c := map[string][]string{"aws:securetransport": {"false"}, "aws:principaltype": {"Anonymous"}}
	if req.r.TLS != nil {
		c["aws:securetransport"] = []string{"true"}
	}
	if req.account != auth.Anonymous {
		c["aws:principalaccount"] = []string{req.account}
		c["aws:principaltype"] = []string{"Account"}
	}
	if host, _, err := net.SplitHostPort(req.r.RemoteAddr); err == nil {
		c["aws:sourceip"] = []string{host}
	}
	for hdr, key := range map[string]string{"User-Agent": "aws:useragent", "Referer": "aws:referer", "x-amz-acl": "s3:x-amz-acl"} {
		if v := req.r.Header.Values(hdr); len(v) > 0 {
			c[key] = v
		}
	}
	for _, p := range []string{"prefix", "delimiter", "max-keys"} {
		if req.q.Has(p) {
			c["s3:"+p] = []string{req.q.Get(p)}
		}
	}
	return c
}

// anonymousRefused is the answer to an anonymous request that no bucket
// setting can allow (ListBuckets, CreateBucket).
var anonymousRefused = apiErr(403, "AccessDenied", "Anonymous access is forbidden for this operation")

// isAnonymous reports whether req carries no signature.
func (req *request) isAnonymous() bool { return req.account == auth.Anonymous }

// ownerOf is the owner shown in ACLs: the bucket owner's id, with the
// caller's name as DisplayName when the caller is the owner (another
// account's name is not shown; its id stands in).
func ownerOf(req *request, ownerID string) owner {
	if ownerID == req.account {
		return req.owner()
	}
	return owner{ID: ownerID, DisplayName: ownerID}
}

// authorizeSetACL checks the x-amz-acl of a write: a canned ACL insitu
// keeps, allowed to the caller (s3:PutObjectAcl) and not public on a
// bucket that blocks public ACLs.
func (h *Handler) authorizeSetACL(req *request) error {
	canned, err := cannedACL(req.r.Header)
	if err != nil {
		return err
	}
	if err := h.authorize(req, req.bucket, req.key, "s3:PutObjectAcl"); err != nil {
		return err
	}
	return h.blockedACL(req, canned)
}
