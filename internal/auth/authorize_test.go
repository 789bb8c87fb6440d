package auth

import (
	"errors"
	"testing"

	"github.com/insitu-cloud/insitu/internal/auth/policy"
)

func TestAuthorize(t *testing.T) {
	const alice, bob = "AIDALICEALICEALICEAL", "AIDBOBBOBBOBBOBBOBBO"
	pol, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":{"AWS":"`+bob+`"},"Action":"*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]},
	 {"Effect":"Allow","Principal":"*","Action":["s3:GetBucketAcl","s3:GetBucketLocation"],"Resource":"arn:aws:s3:::b"},
	 {"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/keep/*"}]}`), "b")
	if err != nil {
		t.Fatal(err)
	}
	a := &BucketAccess{Owner: alice, Policy: pol, ACL: AllUsersRead}
	for _, c := range []struct {
		name string
		req  Request
		ok   bool
	}{
		{"owner", Request{Principal: alice, Action: "s3:PutObject", Bucket: "b", Key: "k"}, true},
		{"owner denied by policy", Request{Principal: alice, Action: "s3:DeleteObject", Bucket: "b", Key: "keep/x"}, false},
		{"owner's policy ops despite deny", Request{Principal: alice, Action: "s3:DeleteBucketPolicy", Bucket: "b"}, true},
		{"bob by policy", Request{Principal: bob, Action: "s3:PutObject", Bucket: "b", Key: "k"}, true},
		{"bob owner-only", Request{Principal: bob, Action: "s3:PutBucketPolicy", Bucket: "b"}, false},
		{"bob compute", Request{Principal: bob, Action: ActionCompute, Bucket: "b", Key: "k"}, false},
		{"bob deny", Request{Principal: bob, Action: "s3:DeleteObject", Bucket: "b", Key: "keep/x"}, false},
		{"anon list via ACL", Request{Action: "s3:ListBucket", Bucket: "b"}, true},
		{"anon put", Request{Action: "s3:PutObject", Bucket: "b", Key: "k"}, false},
		{"anon bucket acl under a * policy", Request{Action: "s3:GetBucketAcl", Bucket: "b"}, false},
		{"anon get private object", Request{Action: "s3:GetObject", Bucket: "b", Key: "k"}, false},
		{"anon get public object", Request{Action: "s3:GetObject", Bucket: "b", Key: "k", ObjectACL: AllUsersRead}, true},
		{"anon get auth-read object", Request{Action: "s3:GetObject", Bucket: "b", Key: "k", ObjectACL: AuthenticatedRead}, false},
		{"carol get auth-read object", Request{Principal: "carol", Action: "s3:GetObject", Bucket: "b", Key: "k", ObjectACL: AuthenticatedRead}, true},
	} {
		err := Authorize(a, c.req)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrAccessDenied)) {
			t.Errorf("%s: %v, want allowed=%v", c.name, err, c.ok)
		}
	}
	a.Block = PublicAccessBlock{IgnorePublicAcls: true}
	if Authorize(a, Request{Action: "s3:ListBucket", Bucket: "b"}) == nil {
		t.Error("IgnorePublicAcls: public ACL still grants")
	}
}
