package auth

import (
	"errors"

	"github.com/insitu-cloud/insitu/internal/auth/policy"
)

// ErrAccessDenied is Authorize's refusal; faces answer it as their own
// access error (S3 AccessDenied).
var ErrAccessDenied = errors.New("auth: access denied")

// Anonymous is the principal of a request that carries no signature.
const Anonymous = ""

// Grants is what a canned ACL grants beyond the owner's full control.
type Grants uint8

// Grant bits.
const (
	AllUsersRead Grants = 1 << iota
	AllUsersWrite
	AuthenticatedRead
)

// Public reports whether g grants anything to every caller.
func (g Grants) Public() bool { return g&(AllUsersRead|AllUsersWrite) != 0 }

// PublicAccessBlock is a bucket's S3 PublicAccessBlock configuration.
type PublicAccessBlock struct {
	BlockPublicAcls       bool
	IgnorePublicAcls      bool
	BlockPublicPolicy     bool
	RestrictPublicBuckets bool
}

// BucketAccess is what a bucket's owner configured: everything Authorize
// weighs besides the request. It is shared read-only between requests.
type BucketAccess struct {
	Owner  string         // the owner's account id
	Policy *policy.Policy // nil: none
	ACL    Grants         // the bucket's canned ACL
	Block  PublicAccessBlock
}

// Request is one action to authorize.
type Request struct {
	// Principal is the caller's account id, or Anonymous.
	Principal string
	// Action is an S3 action ("s3:GetObject"), or an action in OwnerOnly.
	Action string
	// Bucket and Key name the resource; Key "" is the bucket itself.
	Bucket, Key string
	// ObjectACL is the object's canned ACL, for actions on an object.
	ObjectACL Grants
	// Context holds the condition keys (lower case), see policy.Request.
	Context map[string][]string
}

// ownerOnly are the actions no policy or ACL can grant: changing who may
// do what, deleting the bucket, and insitu's compute extensions.
var ownerOnly = map[string]bool{
	"s3:PutBucketPolicy": true, "s3:GetBucketPolicy": true, "s3:DeleteBucketPolicy": true,
	"s3:PutBucketPublicAccessBlock": true, "s3:GetBucketPublicAccessBlock": true,
	"s3:PutBucketAcl": true, "s3:PutObjectAcl": true, "s3:DeleteBucket": true,
	ActionCompute: true, ActionOther: true,
}

// Actions that are not S3's: a run over an object (transform, open-with,
// run on write) and any operation without its own action. Both are for
// the owner alone.
const (
	ActionCompute = "insitu:Compute"
	ActionOther   = "insitu:Other"
)

// anonymousActions are all an anonymous caller can ever be allowed:
// reading, writing and listing objects, and reading an object's lock
// (retention, legal hold). Bucket configuration (ACLs, policy, location,
// versioning...), changing a lock and compute never are, whatever a
// policy says.
var anonymousActions = map[string]bool{
	"s3:GetObject": true, "s3:GetObjectAttributes": true, "s3:ListBucket": true, "s3:ListBucketVersions": true,
	"s3:GetObjectRetention": true, "s3:GetObjectLegalHold": true,
	"s3:ListBucketMultipartUploads": true, "s3:PutObject": true, "s3:DeleteObject": true,
	"s3:GetObjectVersion": true, "s3:GetObjectVersionAttributes": true, "s3:DeleteObjectVersion": true,
	"s3:AbortMultipartUpload": true, "s3:ListMultipartUploadParts": true,
}

// aclRead and aclWrite map actions to the ACL permission that grants them.
var (
	bucketRead  = map[string]bool{"s3:ListBucket": true, "s3:ListBucketVersions": true, "s3:ListBucketMultipartUploads": true}
	bucketWrite = map[string]bool{"s3:PutObject": true, "s3:DeleteObject": true, "s3:DeleteObjectVersion": true, "s3:AbortMultipartUpload": true, "s3:ListMultipartUploadParts": true}
	objectRead  = map[string]bool{"s3:GetObject": true, "s3:GetObjectAttributes": true, "s3:GetObjectVersion": true, "s3:GetObjectVersionAttributes": true}
)

// Resource returns the ARN of bucket, or of bucket/key.
func Resource(bucket, key string) string {
	if key == "" {
		return "arn:aws:s3:::" + bucket
	}
	return "arn:aws:s3:::" + bucket + "/" + key
}

// Authorize is the one authorization decision of the S3 face, evaluated
// as AWS does: an explicit Deny in the bucket policy wins (except over
// the owner's own owner-only actions, so an owner cannot lock itself out
// of fixing the policy); otherwise the bucket's owner is allowed;
// otherwise owner-only actions, and for the anonymous caller any action
// outside anonymousActions, are refused; otherwise the request is
// allowed when the policy Allows it or an ACL grants it, as limited by
// the PublicAccessBlock; otherwise refused. It returns nil or
// ErrAccessDenied.
func Authorize(a *BucketAccess, req Request) error {
	isOwner := req.Principal != Anonymous && req.Principal == a.Owner
	if isOwner && ownerOnly[req.Action] {
		return nil
	}
	preq := policy.Request{Principal: req.Principal, Action: req.Action, Resource: Resource(req.Bucket, req.Key), Context: req.Context}
	d := a.Policy.Evaluate(preq)
	switch {
	case d == policy.Denied:
		return ErrAccessDenied
	case isOwner:
		return nil
	case ownerOnly[req.Action], req.Principal == Anonymous && !anonymousActions[req.Action]:
		return ErrAccessDenied
	case d == policy.Allowed && !(a.Block.RestrictPublicBuckets && a.Policy.IsPublic()):
		return nil
	case aclGrants(a, req):
		return nil
	}
	return ErrAccessDenied
}

// aclGrants reports whether the bucket's or the object's ACL grants the
// action to the principal.
func aclGrants(a *BucketAccess, req Request) bool {
	grants := a.ACL
	switch {
	case objectRead[req.Action] && req.Key != "":
		grants = req.ObjectACL
	case bucketRead[req.Action]:
		grants &^= AllUsersWrite
	case bucketWrite[req.Action]:
		grants &= AllUsersWrite
	default:
		return false
	}
	if a.Block.IgnorePublicAcls {
		grants &^= AllUsersRead | AllUsersWrite
	}
	if grants&(AllUsersRead|AllUsersWrite) != 0 {
		return true
	}
	return grants&AuthenticatedRead != 0 && req.Principal != Anonymous && !bucketWrite[req.Action]
}
