package s3api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestObjectLockBypassPolicy: another account may delete through
// GOVERNANCE retention only once the bucket policy grants it
// s3:BypassGovernanceRetention; without the grant its bypass header is
// ignored and the delete is AccessDenied.
func TestObjectLockBypassPolicy(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	alice, bob := newAccount(t, node, "alice"), newAccount(t, node, "bob")
	ctx := context.Background()
	b := "gov-shared"
	if _, err := alice.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	vid := lockPut(t, alice.s3, b, "k", types.ObjectLockModeGovernance, time.Now().Add(time.Hour), "")
	principal := `{"AWS":"` + bob.id + `"}`
	res := `"arn:aws:s3:::` + b + `/*"`
	if err := putPolicy(t, alice.s3, b, policyDoc(statement("Allow", principal, `["s3:DeleteObjectVersion"]`, res, ""))); err != nil {
		t.Fatal(err)
	}
	err := delVersion(bob.s3, b, "k", vid, true)
	wantCode(t, err, "AccessDenied")
	if err := putPolicy(t, alice.s3, b, policyDoc(statement("Allow", principal,
		`["s3:DeleteObjectVersion","s3:BypassGovernanceRetention"]`, res, ""))); err != nil {
		t.Fatal(err)
	}
	if err := delVersion(bob.s3, b, "k", vid, false); apiCode(err) != "AccessDenied" {
		t.Fatalf("bob's delete without the header: %v", err)
	}
	if err := delVersion(bob.s3, b, "k", vid, true); err != nil {
		t.Fatalf("bob's bypass delete with the grant: %v", err)
	}
}

// TestObjectLockCluster: a cluster answers the Object Lock calls
// NotImplemented, as it does versioning.
func TestObjectLockCluster(t *testing.T) {
	ctx := context.Background()
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b"}})
	c := cl.Nodes[0].S3("", "")
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cllock"), ObjectLockEnabledForBucket: aws.Bool(true)})
	wantCode(t, err, "NotImplemented")
	wantStatus(t, err, http.StatusNotImplemented)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cllock")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("cllock")})
	wantCode(t, err, "NotImplemented")
	_, err = c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String("cllock"), Key: aws.String("k"),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}})
	wantCode(t, err, "NotImplemented")
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cllock"), Key: aws.String("k"),
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	wantCode(t, err, "InvalidRequest")
}
