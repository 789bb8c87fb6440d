package s3api

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/auth/policy"
)

// accessOp names the access-setting operations (ACLs, bucket policy,
// PublicAccessBlock), or "" for any other request. opName asks it first.
func accessOp(method, bucket, key string, q url.Values) string {
	if bucket == "" {
		return ""
	}
	if key != "" {
		if q.Has("acl") && method == http.MethodPut {
			return "PutObjectAcl"
		}
		return ""
	}
	var ops map[string]string
	switch {
	case q.Has("acl"):
		ops = map[string]string{http.MethodPut: "PutBucketAcl"}
	case q.Has("policy"):
		ops = map[string]string{http.MethodPut: "PutBucketPolicy", http.MethodDelete: "DeleteBucketPolicy"}
	case q.Has("publicAccessBlock"):
		ops = map[string]string{http.MethodGet: "GetPublicAccessBlock", http.MethodPut: "PutPublicAccessBlock", http.MethodDelete: "DeletePublicAccessBlock"}
	}
	return ops[method]
}

// serveAccess serves the access-setting operations; done is false for
// any other operation.
func (h *Handler) serveAccess(req *request, op string) (done bool, err error) {
	switch op {
	case "GetBucketAcl", "GetObjectAcl":
		return true, h.getACL(req)
	case "PutBucketAcl":
		return true, h.putBucketACL(req)
	case "PutObjectAcl":
		return true, h.putObjectACL(req)
	case "GetBucketPolicy":
		return true, h.getBucketPolicy(req)
	case "PutBucketPolicy":
		return true, h.putBucketPolicy(req)
	case "DeleteBucketPolicy", "DeletePublicAccessBlock":
		return true, h.deleteAccessSetting(req, op == "DeleteBucketPolicy")
	case "GetPublicAccessBlock":
		return true, h.getPublicAccessBlock(req)
	case "PutPublicAccessBlock":
		return true, h.putPublicAccessBlock(req)
	}
	return false, nil
}

var (
	errNoSuchBucketPolicy = apiErr(http.StatusNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist")
	errNoSuchPAB          = apiErr(http.StatusNotFound, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
)

func (h *Handler) getBucketPolicy(req *request) error {
	e, err := h.access.get(req.ctx, req.bucket)
	if err != nil {
		return err
	}
	if e.rec.Policy == "" {
		return errNoSuchBucketPolicy
	}
	req.w.Header().Set("Content-Type", "application/json")
	_, err = io.WriteString(req.w, e.rec.Policy)
	return err
}

func (h *Handler) putBucketPolicy(req *request) error {
	body, err := io.ReadAll(io.LimitReader(req.r.Body, policy.MaxSize+1))
	if err != nil {
		return err
	}
	p, err := policy.Parse(body, req.bucket)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, policy.ErrMalformed) {
			msg = msg[len(policy.ErrMalformed.Error())+2:]
		}
		return apiErr(http.StatusBadRequest, "MalformedPolicy", "%s", msg)
	}
	err = h.access.update(req.ctx, req.bucket, func(rec *accessRecord) error {
		if rec.Block != nil && rec.Block.BlockPublicPolicy && p.IsPublic() {
			return errAccessDenied
		}
		rec.Policy = string(body)
		return nil
	})
	if err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteAccessSetting removes the bucket's policy, or its PublicAccessBlock.
func (h *Handler) deleteAccessSetting(req *request, isPolicy bool) error {
	err := h.access.update(req.ctx, req.bucket, func(rec *accessRecord) error {
		if isPolicy {
			rec.Policy = ""
		} else {
			rec.Block = nil
		}
		return nil
	})
	if err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// publicAccessBlockConfiguration is the XML of PublicAccessBlock.
type publicAccessBlockConfiguration struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	NS                    string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

func (h *Handler) getPublicAccessBlock(req *request) error {
	e, err := h.access.get(req.ctx, req.bucket)
	if err != nil {
		return err
	}
	if e.rec.Block == nil {
		return errNoSuchPAB
	}
	b := e.rec.Block
	writeXML(req.w, publicAccessBlockConfiguration{NS: s3NS, BlockPublicAcls: b.BlockPublicAcls, IgnorePublicAcls: b.IgnorePublicAcls,
		BlockPublicPolicy: b.BlockPublicPolicy, RestrictPublicBuckets: b.RestrictPublicBuckets})
	return nil
}

func (h *Handler) putPublicAccessBlock(req *request) error {
	body, err := io.ReadAll(io.LimitReader(req.r.Body, 64<<10))
	if err != nil {
		return err
	}
	cfg, err := parsePublicAccessBlock(body)
	if err != nil {
		return err
	}
	err = h.access.update(req.ctx, req.bucket, func(rec *accessRecord) error {
		rec.Block = &cfg
		return nil
	})
	if err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// parsePublicAccessBlock reads a PublicAccessBlockConfiguration body.
func parsePublicAccessBlock(body []byte) (auth.PublicAccessBlock, error) {
	var c publicAccessBlockConfiguration
	if err := xml.Unmarshal(body, &c); err != nil || c.XMLName.Local != "PublicAccessBlockConfiguration" {
		return auth.PublicAccessBlock{}, errMalformedXML
	}
	return auth.PublicAccessBlock{BlockPublicAcls: c.BlockPublicAcls, IgnorePublicAcls: c.IgnorePublicAcls,
		BlockPublicPolicy: c.BlockPublicPolicy, RestrictPublicBuckets: c.RestrictPublicBuckets}, nil
}

// objectACL is the canned ACL a write stores with the object (x-amz-acl,
// already checked by authorizeOp); "" is private.
func objectACL(h http.Header) string {
	v := h.Get("x-amz-acl")
	if cannedGrants[v] == 0 {
		return ""
	}
	return v
}

// setBucketACLOnCreate stores a new bucket's canned ACL and drops any
// settings a deleted bucket of the same name left behind.
func (h *Handler) setBucketACLOnCreate(req *request) error {
	acl := objectACL(req.r.Header)
	if acl == "" {
		return h.access.forget(req.ctx, req.bucket)
	}
	if h.access.kv == nil {
		return errNoAccessStore
	}
	b, err := json.Marshal(accessRecord{ACL: acl})
	if err != nil {
		return err
	}
	return h.access.kv.Put(req.ctx, accessKey(req.bucket), b)
}

// errMissingACL answers a PutBucketAcl/PutObjectAcl with neither header nor body.
var errMissingACL = apiErr(http.StatusBadRequest, "MissingSecurityHeader", "Your request was missing a required header: x-amz-acl")
