package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// In a cluster a bucket policy put through one node governs requests to
// every node (it lives in etcd, each node's cache follows it), and an
// object's canned ACL travels with the object's copies.
func TestClusterAccessSettings(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b"}, Replicas: 2})
	ctx := context.Background()
	s0 := cl.Nodes[0].S3("", "")
	if _, err := s0.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("site")}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"www/index.html", "acl/pub"} {
		acl := types.ObjectCannedACLPrivate
		if k == "acl/pub" {
			acl = types.ObjectCannedACLPublicRead
		}
		if _, err := s0.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("site"), Key: aws.String(k), Body: strings.NewReader("hi"), ACL: acl}); err != nil {
			t.Fatal(err)
		}
	}
	anonGET := func(node int, path string) int {
		resp, err := cl.Nodes[node].HTTPClient().Get(cl.Nodes[node].Endpoint() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited for %s", what)
			}
		}
	}
	for n := range cl.Nodes {
		if st := anonGET(n, "/site/acl/pub"); st != http.StatusOK {
			t.Fatalf("public-read object through node%d: %d", n, st)
		}
		if st := anonGET(n, "/site/www/index.html"); st != http.StatusForbidden {
			t.Fatalf("private object through node%d before the policy: %d", n, st)
		}
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/www/*"}]}`
	if _, err := s0.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("site"), Policy: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	eventually("node1 to serve what node0's policy allows", func() bool { return anonGET(1, "/site/www/index.html") == http.StatusOK })
	if _, err := cl.Nodes[1].S3("", "").DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("site")}); err != nil {
		t.Fatal(err)
	}
	eventually("node0 to refuse once node1 deleted the policy", func() bool { return anonGET(0, "/site/www/index.html") == http.StatusForbidden })
	// Lifecycle rules on noncurrent versions are taken in a cluster too
	// (TestClusterLifecycle covers the rules a cluster applies,
	// TestClusterVersioningSuspended the version expirations) and read
	// back through another node.
	_, err := s0.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("site"),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{Status: types.ExpirationStatusEnabled,
			Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")}, NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)}}}}})
	if err != nil {
		t.Fatalf("noncurrent-version lifecycle rules in a cluster: %v", err)
	}
	lc, err := cl.Nodes[1].S3("", "").GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("site")})
	if err != nil || len(lc.Rules) != 1 || lc.Rules[0].NoncurrentVersionExpiration == nil {
		t.Fatalf("the rules through node1: %+v, %v", lc, err)
	}
}
