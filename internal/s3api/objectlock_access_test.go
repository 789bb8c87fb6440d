package s3api_test

import (
	"context"
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

// TestObjectLockCluster: a cluster takes the Object Lock calls through
// any node (TestClusterObjectLock in internal/app covers them in depth):
// a bucket created with Object Lock through node0 reads as such through
// node1, a version put with a legal hold through node1 cannot be deleted
// through node0; a bucket without Object Lock refuses lock headers and
// has no configuration.
func TestObjectLockCluster(t *testing.T) {
	ctx := context.Background()
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b"}})
	c0, c1 := cl.Nodes[0].S3("", ""), cl.Nodes[1].S3("", "")
	if _, err := c0.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cllock"), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		lc, err := c1.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("cllock")})
		if err == nil && lc.ObjectLockConfiguration.ObjectLockEnabled == types.ObjectLockEnabledEnabled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lock configuration through node1: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	vid := lockPut(t, c1, "cllock", "k", "", time.Time{}, types.ObjectLockLegalHoldStatusOn)
	wantCode(t, delVersion(c0, "cllock", "k", vid, true), "AccessDenied")
	if _, err := c0.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("plain")}); err != nil {
		t.Fatal(err)
	}
	_, err := c0.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("plain")})
	wantCode(t, err, "ObjectLockConfigurationNotFoundError")
	_, err = c0.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String("k"),
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	wantCode(t, err, "InvalidRequest")
}
