package s3api

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// Object Lock (see store.ObjectLocker). The store enforces it: this file
// only parses, authorizes and answers (store/local on one node,
// cluster.Engine in a cluster). Engines without it answer the lock calls NotImplemented and refuse lock headers on writes
// as a bucket without Object Lock does.

// locker returns the engine's Object Lock, if it has any.
func (h *Handler) locker() (store.ObjectLocker, bool) {
	l, ok := h.engine.(store.ObjectLocker)
	return l, ok
}

// lockOp classifies the Object Lock requests: ?object-lock on a bucket,
// ?retention and ?legal-hold on an object ("" for anything else).
func lockOp(method, key string, q url.Values) string {
	get := method == http.MethodGet
	if method != http.MethodGet && method != http.MethodPut {
		return ""
	}
	switch {
	case key == "" && q.Has("object-lock"):
		return map[bool]string{true: "GetObjectLockConfig", false: "PutObjectLockConfig"}[get]
	case key != "" && q.Has("retention"):
		return map[bool]string{true: "GetObjectRetention", false: "PutObjectRetention"}[get]
	case key != "" && q.Has("legal-hold"):
		return map[bool]string{true: "GetObjectLegalHold", false: "PutObjectLegalHold"}[get]
	}
	return ""
}

// serveLock answers the Object Lock operations; done is false for others.
func (h *Handler) serveLock(req *request, op string) (done bool, err error) {
	var fn func(*request, store.ObjectLocker) error
	switch op {
	case "PutObjectLockConfig":
		fn = h.putObjectLockConfig
	case "GetObjectLockConfig":
		fn = h.getObjectLockConfig
	case "PutObjectRetention":
		fn = h.putObjectRetention
	case "GetObjectRetention":
		fn = h.getObjectRetention
	case "PutObjectLegalHold":
		fn = h.putObjectLegalHold
	case "GetObjectLegalHold":
		fn = h.getObjectLegalHold
	default:
		return false, nil
	}
	l, ok := h.locker()
	if !ok {
		return true, errLockCluster
	}
	return true, fn(req, l)
}

// readLockBody reads a lock call's body (at most maxLockBody).
func readLockBody(req *request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(req.r.Body, maxLockBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxLockBody {
		return nil, errMalformedXML
	}
	return body, nil
}

func (h *Handler) putObjectLockConfig(req *request, l store.ObjectLocker) error {
	body, err := readLockBody(req)
	if err != nil {
		return err
	}
	cfg, err := parseObjectLockConfig(body)
	if err != nil {
		return err
	}
	err = l.SetObjectLockConfig(req.ctx, req.bucket, cfg, false)
	if errors.Is(err, store.ErrInvalidBucketState) {
		return errLockNeedsVersioning
	}
	if err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getObjectLockConfig(req *request, l store.ObjectLocker) error {
	cfg, err := l.ObjectLockConfig(req.ctx, req.bucket)
	if err != nil {
		return err
	}
	writeXML(req.w, renderObjectLockConfig(cfg))
	return nil
}

// lockedVersion returns the version a retention or legal hold call names
// (the latest without versionId) in a bucket with Object Lock.
func (h *Handler) lockedVersion(req *request, l store.ObjectLocker) (string, store.ObjectInfo, error) {
	vid, err := versionParam(req)
	if err != nil {
		return "", store.ObjectInfo{}, err
	}
	if _, err := l.ObjectLockConfig(req.ctx, req.bucket); errors.Is(err, store.ErrNoObjectLockConfig) {
		return "", store.ObjectInfo{}, errLockNotEnabled
	} else if err != nil {
		return "", store.ObjectInfo{}, err
	}
	info, err := h.headVersion(req.ctx, req.bucket, req.key, vid)
	if err != nil {
		setDeleteMarkerHeaders(req.w, err)
	}
	return vid, info, err
}

func (h *Handler) putObjectRetention(req *request, l store.ObjectLocker) error {
	body, err := readLockBody(req)
	if err != nil {
		return err
	}
	r, err := parseRetention(body, time.Now())
	if err != nil {
		return err
	}
	vid, _, err := h.lockedVersion(req, l)
	if err != nil {
		return err
	}
	if err := l.SetObjectRetention(req.ctx, req.bucket, req.key, vid, r, h.bypass(req)); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getObjectRetention(req *request, l store.ObjectLocker) error {
	_, info, err := h.lockedVersion(req, l)
	if err != nil {
		return err
	}
	if info.Meta.LockMode == "" {
		return errNoObjectLock
	}
	writeXML(req.w, objectRetention{NS: s3NS, Mode: info.Meta.LockMode,
		RetainUntilDate: info.Meta.LockRetainUntil.UTC().Format(retainUntilFormat)})
	return nil
}

func (h *Handler) putObjectLegalHold(req *request, l store.ObjectLocker) error {
	body, err := readLockBody(req)
	if err != nil {
		return err
	}
	on, err := parseLegalHold(body)
	if err != nil {
		return err
	}
	vid, _, err := h.lockedVersion(req, l)
	if err != nil {
		return err
	}
	if err := l.SetObjectLegalHold(req.ctx, req.bucket, req.key, vid, on); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getObjectLegalHold(req *request, l store.ObjectLocker) error {
	_, info, err := h.lockedVersion(req, l)
	if err != nil {
		return err
	}
	if !info.Meta.LegalHoldSet && !info.Meta.LegalHold {
		return errNoObjectLock
	}
	st := "OFF"
	if info.Meta.LegalHold {
		st = "ON"
	}
	writeXML(req.w, objectLegalHold{NS: s3NS, Status: st})
	return nil
}

// visibleLock is m with only the lock state req's caller may see on GET
// and HEAD, as S3 shows it: the retention (mode and retain-until date)
// to a caller allowed s3:GetObjectRetention on the object, the legal
// hold to one allowed s3:GetObjectLegalHold (both the owner's, unless a
// policy Deny says otherwise). The one decision is asked only when m
// holds something to show.
func (h *Handler) visibleLock(req *request, m store.ObjectMeta) (store.ObjectMeta, error) {
	if m.LockMode == "" && !m.LegalHold {
		return m, nil
	}
	ok, err := h.allowed(req, "s3:GetObjectRetention", "s3:GetObjectLegalHold")
	if err != nil {
		return m, err
	}
	if !ok[0] {
		m.LockMode, m.LockRetainUntil = "", time.Time{}
	}
	if !ok[1] {
		m.LegalHold = false
	}
	return m, nil
}

// bypass reports whether req asks to bypass GOVERNANCE retention
// (x-amz-bypass-governance-retention: true) and its caller is allowed
// s3:BypassGovernanceRetention (the owner, or by the bucket policy). A
// caller who is not allowed is treated as not asking, as S3 does.
func (h *Handler) bypass(req *request) bool {
	return bypassAsked(req) && h.bypassKey(req, req.key)
}

// bypassAsked reports whether req carries
// x-amz-bypass-governance-retention: true.
func bypassAsked(req *request) bool {
	return strings.EqualFold(strings.TrimSpace(req.r.Header.Get("x-amz-bypass-governance-retention")), "true")
}

// writeLock sets meta's lock state from a write's Object Lock headers
// (none: no lock, whatever meta held), checking what S3 checks: the
// bucket has Object Lock, the caller may set retention or a legal hold,
// and a PUT with a body carries Content-MD5 or a checksum (integrity).
func (h *Handler) writeLock(req *request, meta *store.ObjectMeta, integrity bool) error {
	return h.writeLockFrom(req, req.r.Header, meta, integrity)
}

// writeLockFrom is writeLock with the lock settings read from hd: the
// request's headers, or a POST form's fields presented as headers.
func (h *Handler) writeLockFrom(req *request, hd http.Header, meta *store.ObjectMeta, integrity bool) error {
	any, err := lockFromHeaders(hd, meta, time.Now())
	if err != nil || !any {
		return err
	}
	l, ok := h.locker()
	if !ok {
		return errLockNotEnabled
	}
	if _, err := l.ObjectLockConfig(req.ctx, req.bucket); errors.Is(err, store.ErrNoObjectLockConfig) {
		return errLockNotEnabled
	} else if err != nil {
		return err
	}
	if integrity && !hasIntegrity(hd) {
		return errLockMD5
	}
	if meta.LockMode != "" {
		if err := h.authorize(req, req.bucket, req.key, "s3:PutObjectRetention"); err != nil {
			return err
		}
	}
	if meta.LegalHoldSet {
		return h.authorize(req, req.bucket, req.key, "s3:PutObjectLegalHold")
	}
	return nil
}

// createLockedBucket enables Object Lock on a bucket just created with
// x-amz-bucket-object-lock-enabled: true (versioning Enabled with it).
func (h *Handler) createLockedBucket(req *request) error {
	l, ok := h.locker()
	if !ok {
		return errLockCluster
	}
	return l.SetObjectLockConfig(req.ctx, req.bucket, store.ObjectLockConfig{Enabled: true}, true)
}

// wantsObjectLock reports whether a CreateBucket asks for Object Lock.
func wantsObjectLock(hd http.Header) bool {
	return strings.EqualFold(strings.TrimSpace(hd.Get("x-amz-bucket-object-lock-enabled")), "true")
}

// bypassKey is bypass's authorization for one key of a DeleteObjects
// (req.key is empty there).
func (h *Handler) bypassKey(req *request, key string) bool {
	return h.authorize(req, req.bucket, key, "s3:BypassGovernanceRetention") == nil
}
