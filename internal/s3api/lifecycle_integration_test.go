package s3api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// lifecycleNode is a node whose clock the test moves, with lifecycle
// passes only when the test asks for one.
func lifecycleNode(t *testing.T) (*apptest.Node, *atomic.Int64) {
	var skew atomic.Int64 // added to the real time
	node := apptest.Start(t, apptest.Options{Configure: func(c *app.Config) {
		c.Clock = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		c.LifecycleInterval = 24 * time.Hour
	}})
	return node, &skew
}

// TestLifecycleConfiguration: rules round-trip through aws-sdk-go-v2, bad
// ones get S3's codes, and deleting them (or the bucket) leaves none.
func TestLifecycleConfiguration(t *testing.T) {
	ctx := context.Background()
	node, _ := lifecycleNode(t)
	c := node.S3("", "")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lc1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("lc1")}); apiCode(err) != "NoSuchLifecycleConfiguration" {
		t.Fatalf("get before put: %v", err)
	}
	rules := []types.LifecycleRule{
		{ID: aws.String("logs"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(3)}},
		{ID: aws.String("small"), Status: types.ExpirationStatusDisabled,
			Filter:     &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{Prefix: aws.String("tmp/"), ObjectSizeGreaterThan: aws.Int64(1), ObjectSizeLessThan: aws.Int64(100)}},
			Expiration: &types.LifecycleExpiration{Date: aws.Time(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))}},
		{ID: aws.String("uploads"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
			AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(1)},
			NoncurrentVersionExpiration:    &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(7), NewerNoncurrentVersions: aws.Int32(2)}},
	}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("lc1"),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("lc1")})
	if err != nil || len(got.Rules) != 3 {
		t.Fatalf("get: %+v %v", got, err)
	}
	r0, r1, r2 := got.Rules[0], got.Rules[1], got.Rules[2]
	switch {
	case aws.ToString(r0.ID) != "logs" || r0.Status != types.ExpirationStatusEnabled || aws.ToString(r0.Filter.Prefix) != "logs/" || aws.ToInt32(r0.Expiration.Days) != 3:
		t.Fatalf("rule 0 came back as %+v %+v", r0, r0.Filter)
	case r1.Status != types.ExpirationStatusDisabled || r1.Filter.And == nil || aws.ToString(r1.Filter.And.Prefix) != "tmp/" ||
		aws.ToInt64(r1.Filter.And.ObjectSizeLessThan) != 100 || !aws.ToTime(r1.Expiration.Date).Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)):
		t.Fatalf("rule 1 came back as %+v %+v", r1, r1.Filter)
	case aws.ToInt32(r2.AbortIncompleteMultipartUpload.DaysAfterInitiation) != 1 || aws.ToInt32(r2.NoncurrentVersionExpiration.NoncurrentDays) != 7 ||
		aws.ToInt32(r2.NoncurrentVersionExpiration.NewerNoncurrentVersions) != 2:
		t.Fatalf("rule 2 came back as %+v", r2)
	}
	badLifecycle(t, node)
	if _, err := c.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String("lc1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("lc1")}); apiCode(err) != "NoSuchLifecycleConfiguration" {
		t.Fatalf("get after delete: %v", err)
	}
	// Rules die with their bucket: a new bucket of the name has none.
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("lc1"),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules[:1]}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("lc1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lc1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("lc1")}); apiCode(err) != "NoSuchLifecycleConfiguration" {
		t.Fatalf("new bucket of the name: %v", err)
	}
}

// badLifecycle sends configurations S3 refuses, as raw XML.
func badLifecycle(t *testing.T, node *apptest.Node) {
	t.Helper()
	rule := func(inner string) string {
		return `<LifecycleConfiguration><Rule>` + inner + `</Rule></LifecycleConfiguration>`
	}
	for _, tc := range []struct{ name, body, code string }{
		{"no status", rule(`<Filter><Prefix>a</Prefix></Filter><Expiration><Days>1</Days></Expiration>`), "MalformedXML"},
		{"no filter", rule(`<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>`), "MalformedXML"},
		{"zero days", rule(`<Status>Enabled</Status><Filter/><Expiration><Days>0</Days></Expiration>`), "InvalidArgument"},
		{"days and date", rule(`<Status>Enabled</Status><Filter/><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>`), "MalformedXML"},
		{"date not midnight", rule(`<Status>Enabled</Status><Filter/><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>`), "InvalidArgument"},
		{"no action", rule(`<Status>Enabled</Status><Filter/>`), "InvalidArgument"},
		{"transition", rule(`<Status>Enabled</Status><Filter/><Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>`), "NotImplemented"},
		{"tag filter", rule(`<Status>Enabled</Status><Filter><Tag><Key>a</Key><Value>b</Value></Tag></Filter><Expiration><Days>1</Days></Expiration>`), "NotImplemented"},
		{"sizes reversed", rule(`<Status>Enabled</Status><Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter><Expiration><Days>1</Days></Expiration>`), "InvalidArgument"},
		{"same id twice", `<LifecycleConfiguration><Rule><ID>x</ID><Status>Enabled</Status><Filter/><Expiration><Days>1</Days></Expiration></Rule><Rule><ID>x</ID><Status>Enabled</Status><Filter/><Expiration><Days>2</Days></Expiration></Rule></LifecycleConfiguration>`, "InvalidArgument"},
		{"not xml", "{}", "MalformedXML"},
	} {
		req := signedRequest(t, node, http.MethodPut, "/lc1?lifecycle", []byte(tc.body), node.AccessKey, node.SecretKey, time.Now())
		if status, code := s3Error(t, node.HTTPClient(), req); code != tc.code {
			t.Errorf("%s: %d %s, want %s", tc.name, status, code, tc.code)
		}
	}
}

// TestLifecycleExpires: a pass at the node's (moved) clock removes the
// objects and aborts the uploads the rules name, nothing else, and the
// metrics count them.
func TestLifecycleExpires(t *testing.T) {
	ctx := context.Background()
	node, skew := lifecycleNode(t)
	c := node.S3("", "")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lc2")}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"logs/1", "logs/2", "logs/big", "keep/1"} {
		body := "x"
		if k == "logs/big" {
			body = strings.Repeat("x", 500)
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lc2"), Key: aws.String(k), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"up/stale", "keep/upload"} {
		if _, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("lc2"), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	rules := []types.LifecycleRule{
		{Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{And: &types.LifecycleRuleAndOperator{Prefix: aws.String("logs/"), ObjectSizeLessThan: aws.Int64(100)}},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(2)}},
		{Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("up/")},
			AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(1)}},
	}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("lc2"),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules}}); err != nil {
		t.Fatal(err)
	}
	if st, err := node.LifecyclePass(ctx); err != nil || st.Expired+st.Aborted != 0 {
		t.Fatalf("pass today: %+v %v", st, err)
	}
	skew.Store(int64(3 * 24 * time.Hour))
	if st, err := node.LifecyclePass(ctx); err != nil || st.Expired != 2 || st.Aborted != 1 {
		t.Fatalf("pass in 3 days: %+v %v", st, err)
	}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lc2")})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, o := range list.Contents {
		left = append(left, aws.ToString(o.Key))
	}
	if strings.Join(left, ",") != "keep/1,logs/big" {
		t.Fatalf("left %v", left)
	}
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("lc2")})
	if err != nil || len(ups.Uploads) != 1 || aws.ToString(ups.Uploads[0].Key) != "keep/upload" {
		t.Fatalf("uploads left: %+v %v", ups, err)
	}
	resp, err := node.HTTPClient().Get(node.Endpoint() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"insitu_lifecycle_expired_objects_total 2", "insitu_lifecycle_aborted_uploads_total 1", "insitu_lifecycle_passes_total 2"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
