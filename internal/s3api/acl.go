package s3api

import (
	"encoding/xml"
	"io"
	"net/http"
	"sort"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/store"
)

// Group grantee URIs of S3's ACLs.
const (
	allUsersURI  = "http://acs.amazonaws.com/groups/global/AllUsers"
	authUsersURI = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	xsiNS        = "http://www.w3.org/2001/XMLSchema-instance"
)

// aclOut is an AccessControlPolicy as GetBucketAcl/GetObjectAcl answer it.
type aclOut struct {
	XMLName xml.Name   `xml:"AccessControlPolicy"`
	NS      string     `xml:"xmlns,attr"`
	Owner   owner      `xml:"Owner"`
	Grants  []aclGrant `xml:"AccessControlList>Grant"`
}

type aclGrant struct {
	Grantee    aclGrantee `xml:"Grantee"`
	Permission string     `xml:"Permission"`
}

type aclGrantee struct {
	XMLNSXSI    string `xml:"xmlns:xsi,attr"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
}

// aclIn is an AccessControlPolicy as PutBucketAcl/PutObjectAcl send it.
type aclIn struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Grants  []struct {
		Grantee struct {
			Type         string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
			ID           string `xml:"ID"`
			URI          string `xml:"URI"`
			EmailAddress string `xml:"EmailAddress"`
		} `xml:"Grantee"`
		Permission string `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

// grantsXML lists what canned grants: the owner's FULL_CONTROL, then groups.
func grantsXML(o owner, g auth.Grants) []aclGrant {
	out := []aclGrant{{Grantee: aclGrantee{XMLNSXSI: xsiNS, Type: "CanonicalUser", ID: o.ID, DisplayName: o.DisplayName}, Permission: "FULL_CONTROL"}}
	group := func(uri, perm string) {
		out = append(out, aclGrant{Grantee: aclGrantee{XMLNSXSI: xsiNS, Type: "Group", URI: uri}, Permission: perm})
	}
	if g&auth.AllUsersRead != 0 {
		group(allUsersURI, "READ")
	}
	if g&auth.AllUsersWrite != 0 {
		group(allUsersURI, "WRITE")
	}
	if g&auth.AuthenticatedRead != 0 {
		group(authUsersURI, "READ")
	}
	return out
}

// getACL answers GetBucketAcl and GetObjectAcl: the bucket owner's full
// control (the bucket's owner owns every object in it) and the groups
// the canned ACL grants to.
func (h *Handler) getACL(req *request) error {
	info, err := h.engine.GetBucket(req.ctx, req.bucket)
	if err != nil {
		return err
	}
	var g auth.Grants
	if req.key != "" {
		vid, err := versionParam(req)
		if err != nil {
			return err
		}
		obj, err := h.headVersion(req.ctx, req.bucket, req.key, vid)
		if err != nil {
			return err
		}
		g = cannedGrants[obj.Meta.ACL]
	} else {
		e, err := h.access.get(req.ctx, req.bucket)
		if err != nil {
			return err
		}
		g = e.acl
	}
	o := ownerOf(req, info.Owner)
	writeXML(req.w, aclOut{NS: s3NS, Owner: o, Grants: grantsXML(o, g)})
	return nil
}

// requestedACL reads the canned ACL a PutBucketAcl/PutObjectAcl asks for:
// x-amz-acl, or an AccessControlPolicy body that a canned ACL expresses.
func requestedACL(req *request) (string, error) {
	canned, err := cannedACL(req.r.Header)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(io.LimitReader(req.r.Body, 64<<10))
	if err != nil {
		return "", err
	}
	switch {
	case canned != "" && len(body) > 0:
		return "", apiErr(http.StatusBadRequest, "UnexpectedContent", "This request does not support content")
	case canned != "":
		return canned, nil
	case len(body) == 0:
		return "", errMissingACL
	}
	return aclFromXML(body)
}

// aclFromXML maps an AccessControlPolicy body to the canned ACL with the
// same grants; any other grant set answers NotImplemented.
func aclFromXML(body []byte) (string, error) {
	var in aclIn
	if err := xml.Unmarshal(body, &in); err != nil {
		return "", apiErr(http.StatusBadRequest, "MalformedACLError", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	var groups []string
	for _, g := range in.Grants {
		switch {
		case g.Grantee.Type == "CanonicalUser" && g.Permission == "FULL_CONTROL":
		case g.Grantee.Type == "Group" && (g.Grantee.URI == allUsersURI || g.Grantee.URI == authUsersURI) && (g.Permission == "READ" || g.Permission == "WRITE"):
			groups = append(groups, g.Grantee.URI+" "+g.Permission)
		default:
			return "", apiErr(http.StatusNotImplemented, "NotImplemented", "Only the grants of a canned ACL (private, public-read, public-read-write, authenticated-read) are implemented")
		}
	}
	sort.Strings(groups)
	for name, g := range map[string]auth.Grants{"private": 0, "public-read": auth.AllUsersRead,
		"public-read-write": auth.AllUsersRead | auth.AllUsersWrite, "authenticated-read": auth.AuthenticatedRead} {
		var want []string
		for _, gr := range grantsXML(owner{}, g)[1:] {
			want = append(want, gr.Grantee.URI+" "+gr.Permission)
		}
		sort.Strings(want)
		if equalStrings(groups, want) {
			return name, nil
		}
	}
	return "", apiErr(http.StatusNotImplemented, "NotImplemented", "Only the grants of a canned ACL (private, public-read, public-read-write, authenticated-read) are implemented")
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// blockedACL refuses a public canned ACL on a bucket whose
// PublicAccessBlock has BlockPublicAcls.
func (h *Handler) blockedACL(req *request, canned string) error {
	if !cannedGrants[canned].Public() {
		return nil
	}
	e, err := h.access.get(req.ctx, req.bucket)
	if err != nil {
		return err
	}
	if e.rec.Block != nil && e.rec.Block.BlockPublicAcls {
		return errAccessDenied
	}
	return nil
}

// newACL is the canned ACL a Put*Acl request sets, checked against the
// bucket's PublicAccessBlock; "" for private (what is stored).
func (h *Handler) newACL(req *request) (string, error) {
	canned, err := requestedACL(req)
	if err != nil {
		return "", err
	}
	if err := h.blockedACL(req, canned); err != nil {
		return "", err
	}
	if canned == "private" {
		canned = ""
	}
	return canned, nil
}

func (h *Handler) putBucketACL(req *request) error {
	canned, err := h.newACL(req)
	if err != nil {
		return err
	}
	err = h.access.update(req.ctx, req.bucket, func(rec *accessRecord) error {
		rec.ACL = canned
		return nil
	})
	if err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// putObjectACL stores the object's new canned ACL with its metadata: in
// place on an engine with versioning (store.Versioned.SetObjectACL: the
// version named by versionId, or the latest, keeps its id and
// LastModified), else (the cluster) by writing the object again with the
// same bytes and metadata (so the ACL is durable and replicated exactly as
// the object is), where its LastModified changes and a multipart object's
// ETag becomes its MD5.
func (h *Handler) putObjectACL(req *request) error {
	canned, err := h.newACL(req)
	if err != nil {
		return err
	}
	if v, ok := h.versioned(); ok {
		vid, err := versionParam(req)
		if err != nil {
			return err
		}
		if err := v.SetObjectACL(req.ctx, req.bucket, req.key, vid, canned); err != nil {
			return err
		}
		req.w.WriteHeader(http.StatusOK)
		return nil
	}
	info, rc, err := h.engine.GetObject(req.ctx, req.bucket, req.key, nil)
	if err != nil {
		return err
	}
	defer rc.Close()
	if info.Meta.ACL != canned {
		m := info.Meta
		m.ACL = canned
		opts := store.PutOptions{Meta: m, ChecksumAlgorithm: info.Checksum.Algorithm}
		if _, err := h.engine.PutObject(req.ctx, req.bucket, req.key, rc, info.Size, opts); err != nil {
			return err
		}
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}
