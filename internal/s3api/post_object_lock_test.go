package s3api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// lockForm signs, with mc, a POST policy for bucket/key whose conditions
// hold the given fields exactly (x-amz-object-lock-* among them) and
// returns the form's URL and fields.
func lockForm(t *testing.T, mc *minio.Client, bucket, key string, lock map[string]string) (string, map[string]string) {
	t.Helper()
	p := minio.NewPostPolicy()
	p.SetBucket(bucket)
	p.SetKey(key)
	p.SetExpires(time.Now().Add(time.Hour))
	for k, v := range lock {
		if err := p.SetUserData(strings.TrimPrefix(k, "x-amz-"), v); err != nil {
			t.Fatal(err)
		}
	}
	u, fields, err := mc.PresignedPostPolicy(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return u.String(), fields
}

// TestPostObjectLock: a browser upload sets retention and a legal hold
// from its x-amz-object-lock-* form fields, covered by its signed policy,
// and the version it stores cannot be deleted; the fields are checked as
// PutObject's headers are (a bad mode, a bucket without Object Lock, a
// signer not allowed s3:PutObjectRetention, a field the policy does not
// name: all refused with S3's codes and nothing stored); without them
// the bucket's default retention applies.
func TestPostObjectLock(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	mc, c := node.Minio(t, "", "", false), node.S3("", "")
	for _, in := range []*s3.CreateBucketInput{
		{Bucket: aws.String("lockforms"), ObjectLockEnabledForBucket: aws.Bool(true)},
		{Bucket: aws.String("plainforms")},
	} {
		if _, err := c.CreateBucket(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	lock := map[string]string{"x-amz-object-lock-mode": "GOVERNANCE",
		"x-amz-object-lock-retain-until-date": until.Format(time.RFC3339Nano), "x-amz-object-lock-legal-hold": "ON"}
	u, fields := lockForm(t, mc, "lockforms", "held", lock)
	resp := postUpload(t, node, u, fields, "f", []byte("kept"), "")
	resp.Body.Close()
	vid := resp.Header.Get("x-amz-version-id")
	if resp.StatusCode != http.StatusNoContent || vid == "" {
		t.Fatalf("POST with lock fields: %d %v", resp.StatusCode, resp.Header)
	}
	if got := viewLock(t, c, "lockforms", "held"); got != (lockView{types.ObjectLockModeGovernance, until, types.ObjectLockLegalHoldStatusOn}) {
		t.Fatalf("POSTed version's lock: %+v", got)
	}
	for _, bypass := range []bool{false, true} { // the legal hold holds even against the bypass
		err := delVersion(c, "lockforms", "held", vid, bypass)
		wantCode(t, err, "AccessDenied")
		wantStatus(t, err, http.StatusForbidden)
	}
	postLockRefusals(t, node, mc, until)
	postLockDefault(t, node, mc, c)
}

// postLockRefusals: lock fields refused as PutObject refuses its headers,
// and nothing stored.
func postLockRefusals(t *testing.T, node *apptest.Node, mc *minio.Client, until time.Time) {
	t.Helper()
	date := until.Format(time.RFC3339)
	bob := newAccount(t, node, "bob")
	res := `"arn:aws:s3:::lockforms/*"`
	if err := putPolicy(t, node.S3("", ""), "lockforms", policyDoc(statement("Allow", `{"AWS":"`+bob.id+`"}`, `"s3:PutObject"`, res, ""))); err != nil {
		t.Fatal(err)
	}
	bobMC := node.Minio(t, bob.ak, bob.sk, false)
	for _, tc := range []struct {
		name, bucket string
		signer       *minio.Client
		lock         map[string]string
		extra        map[string]string // fields added after signing
		status       int
		code, in     string
	}{
		{"bad mode", "lockforms", mc, map[string]string{"x-amz-object-lock-mode": "FOREVER", "x-amz-object-lock-retain-until-date": date}, nil, 400, "InvalidArgument", "wormMode"},
		{"bad hold", "lockforms", mc, map[string]string{"x-amz-object-lock-legal-hold": "MAYBE"}, nil, 400, "InvalidArgument", "Legal Hold"},
		{"mode alone", "lockforms", mc, map[string]string{"x-amz-object-lock-mode": "GOVERNANCE"}, nil, 400, "InvalidArgument", "must both be supplied"},
		{"past date", "lockforms", mc, map[string]string{"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": "2001-01-01T00:00:00Z"}, nil, 400, "InvalidArgument", "future"},
		{"no object lock", "plainforms", mc, map[string]string{"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": date}, nil, 400, "InvalidRequest", "Object Lock"},
		{"not in policy", "lockforms", mc, nil, map[string]string{"x-amz-object-lock-legal-hold": "ON"}, 403, "AccessDenied", "Extra input fields: x-amz-object-lock-legal-hold"},
		{"no s3:PutObjectRetention", "lockforms", bobMC, map[string]string{"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": date}, nil, 403, "AccessDenied", ""},
		{"no s3:PutObjectLegalHold", "lockforms", bobMC, map[string]string{"x-amz-object-lock-legal-hold": "OFF"}, nil, 403, "AccessDenied", ""},
	} {
		key := strings.ReplaceAll(tc.name, " ", "-")
		u, fields := lockForm(t, tc.signer, tc.bucket, key, tc.lock)
		for k, v := range tc.extra {
			fields[k] = v
		}
		resp := postUpload(t, node, u, fields, "f", []byte("refused"), "")
		code, msg := errorCode(t, resp)
		if resp.StatusCode != tc.status || code != tc.code || !strings.Contains(msg, tc.in) {
			t.Errorf("%s: %d %s %q, want %d %s %q", tc.name, resp.StatusCode, code, msg, tc.status, tc.code, tc.in)
		}
		if _, err := node.S3("", "").HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(tc.bucket), Key: aws.String(key)}); err == nil {
			t.Errorf("%s: refused upload stored", tc.name)
		}
	}
	u, fields := lockForm(t, bobMC, "lockforms", "bobs", nil)
	if resp := postUpload(t, node, u, fields, "f", []byte("x"), ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("bob's POST without lock fields: %d", resp.StatusCode)
	}
}

// postLockDefault: a POST without lock fields gets the bucket's default
// retention.
func postLockDefault(t *testing.T, node *apptest.Node, mc *minio.Client, c *s3.Client) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("lockforms"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeCompliance, Days: aws.Int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
	u, fields := lockForm(t, mc, "lockforms", "dflt", nil)
	resp := postUpload(t, node, u, fields, "f", []byte("default"), "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST without lock fields: %d", resp.StatusCode)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lockforms"), Key: aws.String("dflt")})
	if err != nil {
		t.Fatal(err)
	}
	want := aws.ToTime(head.LastModified).Add(24 * time.Hour)
	if head.ObjectLockMode != types.ObjectLockModeCompliance || aws.ToTime(head.ObjectLockRetainUntilDate).Sub(want).Abs() > 2*time.Second ||
		head.ObjectLockLegalHoldStatus != "" {
		t.Fatalf("default retention of a POST: %q %v %q", head.ObjectLockMode, aws.ToTime(head.ObjectLockRetainUntilDate), head.ObjectLockLegalHoldStatus)
	}
	wantCode(t, delVersion(c, "lockforms", "dflt", aws.ToString(head.VersionId), true), "AccessDenied")
}
