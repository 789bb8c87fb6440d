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

// TestCORSCluster: a configuration put through one node answers
// preflights on another (meta is etcd, each node's cache follows its
// watch), and a delete through the second is seen by the first.
func TestCORSCluster(t *testing.T) {
	ctx := context.Background()
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b"}})
	n0, n1 := cl.Nodes[0], cl.Nodes[1]
	b := aws.String("shared")
	if _, err := n0.S3("", "").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	cfg := &types.CORSConfiguration{CORSRules: []types.CORSRule{{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"GET"}}}}
	if _, err := n0.S3("", "").PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	waitPreflight := func(node *apptest.Node, want int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			resp := preflight(t, node, "/shared/k", "https://app.example.com", "GET", "")
			if resp.StatusCode == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("preflight on %s: %d, want %d", node.Endpoint(), resp.StatusCode, want)
			}
		}
	}
	waitPreflight(n0, http.StatusOK) // its own write: at once
	waitPreflight(n1, http.StatusOK)
	if _, err := n1.S3("", "").DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	waitPreflight(n1, http.StatusForbidden)
	waitPreflight(n0, http.StatusForbidden)
}
