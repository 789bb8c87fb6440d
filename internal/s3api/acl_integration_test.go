package s3api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// groupGrants returns the group grants of an ACL as "URI PERMISSION".
func groupGrants(grants []types.Grant) []string {
	var out []string
	for _, g := range grants {
		if g.Grantee != nil && g.Grantee.Type == types.TypeGroup {
			out = append(out, aws.ToString(g.Grantee.URI)+" "+string(g.Permission))
		}
	}
	return out
}

const allUsers = "http://acs.amazonaws.com/groups/global/AllUsers"

// TestCannedACLs: canned ACLs on CreateBucket, PutObject, PutBucketAcl
// and PutObjectAcl (header and AccessControlPolicy body), read back in
// AWS's XML, and what they let anonymous and other accounts do.
func TestCannedACLs(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	alice, bob := newAccount(t, node, "alice"), newAccount(t, node, "bob")
	if _, err := alice.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("open"), ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	_, err := alice.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("badacl"), ACL: "world-writable"})
	wantCode(t, err, "InvalidArgument")
	if _, err := alice.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("badacl")}); apiCode(err) != "NotFound" {
		t.Fatalf("a bucket was created with an invalid ACL: %v", err)
	}
	acl, err := alice.s3.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("open")})
	if err != nil {
		t.Fatal(err)
	}
	if g := groupGrants(acl.Grants); len(g) != 1 || g[0] != allUsers+" READ" || aws.ToString(acl.Owner.ID) != alice.id {
		t.Fatalf("public-read bucket ACL: owner %v grants %v", aws.ToString(acl.Owner.ID), g)
	}
	put(t, alice.s3, "open", "private-obj", "p", "")
	put(t, alice.s3, "open", "public-obj", "hello", types.ObjectCannedACLPublicRead)
	if st, code := anon(t, node, "GET", "/open?list-type=2", ""); st != 200 {
		t.Fatalf("anonymous list of a public-read bucket: %d %s", st, code)
	}
	if st, code := anon(t, node, "GET", "/open/private-obj", ""); st != 403 || code != "AccessDenied" {
		t.Fatalf("anonymous GET of a private object: %d %s", st, code)
	}
	if st, code := anon(t, node, "GET", "/open/missing", ""); st != 403 || code != "AccessDenied" {
		t.Fatalf("anonymous GET of a missing key: %d %s", st, code)
	}
	if st, _ := anon(t, node, "GET", "/open/public-obj", ""); st != 200 {
		t.Fatalf("anonymous GET of a public-read object: %d", st)
	}
	if st, _ := anon(t, node, "HEAD", "/open/public-obj", ""); st != 200 {
		t.Fatalf("anonymous HEAD of a public-read object: %d", st)
	}
	if st, code := anon(t, node, "PUT", "/open/x", "x"); st != 403 || code != "AccessDenied" {
		t.Fatalf("anonymous PUT into a public-read bucket: %d %s", st, code)
	}
	oacl, err := alice.s3.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String("open"), Key: aws.String("public-obj")})
	if err != nil || len(groupGrants(oacl.Grants)) != 1 {
		t.Fatalf("GetObjectAcl of a public-read object: %v %v", groupGrants(oacl.Grants), err)
	}

	// PutObjectAcl private: the object stays, unreadable anonymously.
	if _, err := alice.s3.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String("open"), Key: aws.String("public-obj"), ACL: types.ObjectCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	if st, _ := anon(t, node, "GET", "/open/public-obj", ""); st != 403 {
		t.Fatalf("anonymous GET after PutObjectAcl private: %d", st)
	}
	out, err := alice.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("open"), Key: aws.String("public-obj")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("object after PutObjectAcl: %q", body)
	}

	// An AccessControlPolicy body a canned ACL expresses is accepted;
	// a grant to one other account is not implemented.
	owner := &types.Owner{ID: aws.String(alice.id)}
	full := types.Grant{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(alice.id)}, Permission: types.PermissionFullControl}
	_, err = alice.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("open"), AccessControlPolicy: &types.AccessControlPolicy{Owner: owner, Grants: []types.Grant{full}}})
	if err != nil {
		t.Fatalf("PutBucketAcl private by body: %v", err)
	}
	if st, _ := anon(t, node, "GET", "/open?list-type=2", ""); st != 403 {
		t.Fatalf("anonymous list after private: %d", st)
	}
	toBob := types.Grant{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(bob.id)}, Permission: types.PermissionRead}
	_, err = alice.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("open"), AccessControlPolicy: &types.AccessControlPolicy{Owner: owner, Grants: []types.Grant{full, toBob}}})
	wantCode(t, err, "NotImplemented")
	_, err = alice.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("open"), ACL: "everyone-and-their-dog"})
	wantCode(t, err, "InvalidArgument")

	// public-read-write lets anyone write; authenticated-read any account read.
	if _, err := alice.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("open"), ACL: types.BucketCannedACLPublicReadWrite}); err != nil {
		t.Fatal(err)
	}
	if st, code := anon(t, node, "PUT", "/open/dropbox", "from anyone"); st != 200 {
		t.Fatalf("anonymous PUT into public-read-write: %d %s", st, code)
	}
	put(t, alice.s3, "open", "members", "m", types.ObjectCannedACLAuthenticatedRead)
	if _, err := bob.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("open"), Key: aws.String("members")}); err != nil {
		t.Fatalf("bob GET of authenticated-read: %v", err)
	}
	if st, _ := anon(t, node, "GET", "/open/members", ""); st != 403 {
		t.Fatalf("anonymous GET of authenticated-read: %d", st)
	}

	// A multipart upload keeps the ACL it was created with; a copy takes
	// its own x-amz-acl, never the source's.
	mpu, err := alice.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("open"), Key: aws.String("mpu"), ACL: types.ObjectCannedACLPublicRead})
	if err != nil {
		t.Fatal(err)
	}
	part, err := alice.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("open"), Key: aws.String("mpu"), UploadId: mpu.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("parts")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = alice.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("open"), Key: aws.String("mpu"), UploadId: mpu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := anon(t, node, "GET", "/open/mpu", ""); st != 200 {
		t.Fatalf("anonymous GET of a public-read multipart object: %d", st)
	}
	if _, err := alice.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("open"), Key: aws.String("mpu-copy"), CopySource: aws.String("open/mpu")}); err != nil {
		t.Fatal(err)
	}
	if st, _ := anon(t, node, "GET", "/open/mpu-copy", ""); st != 403 {
		t.Fatalf("a copy without x-amz-acl kept the source's public-read: %d", st)
	}

	// Object ACLs live with the object: they survive a restart.
	node.Stop()
	node = apptest.Start(t, apptest.Options{DataDir: node.DataDir})
	if st, _ := anon(t, node, "GET", "/open/public-obj", ""); st != 403 {
		t.Fatalf("after restart, private object: %d", st)
	}
	alice.s3 = node.S3(alice.ak, alice.sk)
	if _, err := alice.s3.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String("open"), Key: aws.String("private-obj"), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	node.Stop()
	node = apptest.Start(t, apptest.Options{DataDir: node.DataDir})
	if st, _ := anon(t, node, "GET", "/open/private-obj", ""); st != 200 {
		t.Fatalf("after restart, object made public-read: %d", st)
	}
}

// TestPublicAccessBlock: Put/Get/DeletePublicAccessBlock and each of its
// four settings applied in the decision.
func TestPublicAccessBlock(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := node.S3("", "")
	b := aws.String("guarded")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	wantCode(t, err, "NoSuchPublicAccessBlockConfiguration")
	put(t, c, "guarded", "pub", "x", types.ObjectCannedACLPublicRead)
	if err := putPolicy(t, c, "guarded", policyDoc(statement("Allow", `"*"`, `"s3:GetObject"`, `"arn:aws:s3:::guarded/open/*"`, ""))); err != nil {
		t.Fatal(err)
	}
	put(t, c, "guarded", "open/doc", "x", "")
	setPAB := func(cfg types.PublicAccessBlockConfiguration) {
		t.Helper()
		if _, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &cfg}); err != nil {
			t.Fatal(err)
		}
	}

	setPAB(types.PublicAccessBlockConfiguration{IgnorePublicAcls: aws.Bool(true)})
	if st, _ := anon(t, node, "GET", "/guarded/pub", ""); st != 403 {
		t.Fatalf("IgnorePublicAcls: public-read object served: %d", st)
	}
	if st, _ := anon(t, node, "GET", "/guarded/open/doc", ""); st != 200 {
		t.Fatalf("IgnorePublicAcls leaves policies alone: %d", st)
	}
	setPAB(types.PublicAccessBlockConfiguration{RestrictPublicBuckets: aws.Bool(true)})
	if st, _ := anon(t, node, "GET", "/guarded/open/doc", ""); st != 403 {
		t.Fatalf("RestrictPublicBuckets: public policy served: %d", st)
	}
	if st, _ := anon(t, node, "GET", "/guarded/pub", ""); st != 200 {
		t.Fatalf("RestrictPublicBuckets leaves ACLs alone: %d", st)
	}
	all := types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}
	setPAB(all)
	got, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	if err != nil || !aws.ToBool(got.PublicAccessBlockConfiguration.BlockPublicAcls) || !aws.ToBool(got.PublicAccessBlockConfiguration.RestrictPublicBuckets) {
		t.Fatalf("GetPublicAccessBlock: %+v %v", got, err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
	wantCode(t, err, "AccessDenied")
	_, err = c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: types.BucketCannedACLPublicRead})
	wantCode(t, err, "AccessDenied")
	wantCode(t, putPolicy(t, c, "guarded", policyDoc(statement("Allow", `"*"`, `"s3:GetObject"`, `"arn:aws:s3:::guarded/*"`, ""))), "AccessDenied")
	if err := putPolicy(t, c, "guarded", policyDoc(statement("Allow", `"*"`, `"s3:GetObject"`, `"arn:aws:s3:::guarded/*"`, `{"IpAddress":{"aws:SourceIp":"10.1.0.0/16"}}`))); err != nil {
		t.Fatalf("a policy pinned to a network is not public: %v", err)
	}
	put(t, c, "guarded", "private-ok", "x", types.ObjectCannedACLPrivate)
	req, _ := http.NewRequest(http.MethodPut, node.Endpoint()+"/guarded?publicAccessBlock", bytes.NewReader([]byte("<nope")))
	if st, code := s3Error(t, node.HTTPClient(), req); st != 403 {
		t.Fatalf("anonymous PutPublicAccessBlock: %d %s", st, code)
	}
	if _, err := c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	wantCode(t, err, "NoSuchPublicAccessBlockConfiguration")
	if st, _ := anon(t, node, "GET", "/guarded/pub", ""); st != 200 {
		t.Fatalf("after DeletePublicAccessBlock the public-read object: %d", st)
	}
}

// TestPolicyMinio: minio-go sets and reads a bucket policy, bob reads
// through it with minio-go, and an anonymous minio-go client reads a
// public-read object.
func TestPolicyMinio(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	alice, bob := newAccount(t, node, "alice"), newAccount(t, node, "bob")
	mc := node.Minio(t, alice.ak, alice.sk, false)
	if err := mc.MakeBucket(ctx, "minib", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.PutObject(ctx, "minib", "k", strings.NewReader("data"), 4, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	bm := node.Minio(t, bob.ak, bob.sk, false)
	if _, err := bm.StatObject(ctx, "minib", "k", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("bob stat without a policy: %v", err)
	}
	doc := policyDoc(statement("Allow", `{"AWS":["arn:aws:iam::`+bob.id+`:root"]}`, `"s3:GetObject"`, `"arn:aws:s3:::minib/*"`, ""))
	if err := mc.SetBucketPolicy(ctx, "minib", doc); err != nil {
		t.Fatal(err)
	}
	if got, err := mc.GetBucketPolicy(ctx, "minib"); err != nil || got != doc {
		t.Fatalf("minio GetBucketPolicy = %q, %v", got, err)
	}
	obj, err := bm.GetObject(ctx, "minib", "k", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(obj); err != nil || string(b) != "data" {
		t.Fatalf("bob reads through the policy: %q %v", b, err)
	}
	if err := bm.SetBucketPolicy(ctx, "minib", ""); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("bob deletes alice's policy: %v", err)
	}
	if err := mc.SetBucketPolicy(ctx, "minib", ""); err != nil { // minio-go: empty deletes
		t.Fatal(err)
	}
	if _, err := bm.StatObject(ctx, "minib", "k", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("bob stat after the policy is deleted: %v", err)
	}
	if _, err := mc.PutObject(ctx, "minib", "pub", strings.NewReader("p"), 1, minio.PutObjectOptions{UserMetadata: map[string]string{"x-amz-acl": "public-read"}}); err != nil {
		t.Fatal(err)
	}
	anonMC, err := minio.New(node.Addr(), &minio.Options{Transport: node.HTTPClient().Transport, Region: node.Region, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anonMC.StatObject(ctx, "minib", "pub", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("anonymous minio-go stat of a public-read object: %v", err)
	}
	if _, err := anonMC.StatObject(ctx, "minib", "k", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("anonymous minio-go stat of a private object: %v", err)
	}
}
