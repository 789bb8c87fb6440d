package s3api_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestObjectLockLifecycle: a lifecycle pass that makes two noncurrent
// versions due removes the free one, keeps the one under legal hold
// without failing the pass, and counts it in its stats and metrics.
func TestObjectLockLifecycle(t *testing.T) {
	ctx := context.Background()
	node, skew := lifecycleNode(t)
	c := node.S3("", "")
	b := "lclock"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	held := lockPut(t, c, b, "a", "", time.Time{}, types.ObjectLockLegalHoldStatusOn)
	free := vput(t, c, b, "b", "free")
	vput(t, c, b, "a", "a2")
	vput(t, c, b, "b", "b2")
	rules := []types.LifecycleRule{{Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
		NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)}}}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(b),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules}}); err != nil {
		t.Fatal(err)
	}
	skew.Store(int64(3 * 24 * time.Hour))
	st, err := node.LifecyclePass(ctx)
	if err != nil || st.Versions != 1 || st.Locked != 1 {
		t.Fatalf("pass: %+v %v; want 1 version removed and 1 kept by its lock", st, err)
	}
	if _, _, err := vget(t, c, b, "a", held); err != nil {
		t.Fatalf("held version after the pass: %v", err)
	}
	if _, _, err := vget(t, c, b, "b", free); apiCode(err) != "NoSuchVersion" {
		t.Fatalf("free version after the pass: %v", err)
	}
	resp, err := node.HTTPClient().Get(node.Endpoint() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), "insitu_lifecycle_locked_skipped_total 1") {
		t.Errorf("/metrics lacks insitu_lifecycle_locked_skipped_total 1")
	}
}
