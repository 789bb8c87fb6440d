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

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestObjectLockErrors: S3's answers for Object Lock on a bucket without
// it, for bad settings, and for enabling it on an existing bucket (AWS
// allows it once versioning is Enabled); a pre-versioning object reads
// as version "null".
func TestObjectLockErrors(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	c := node.S3("", "")
	ctx := context.Background()
	b := aws.String("plain")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: b})
	wantCode(t, err, "ObjectLockConfigurationNotFoundError")
	wantStatus(t, err, http.StatusNotFound)
	until := aws.Time(time.Now().Add(time.Hour))
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("x"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: until})
	wantCode(t, err, "InvalidRequest")
	vput(t, c, "plain", "old", "before versioning")
	_, err = c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: b, Key: aws.String("old"),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: until}})
	wantCode(t, err, "InvalidRequest")
	enable := func() error {
		_, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: b,
			ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}})
		return err
	}
	err = enable()
	wantCode(t, err, "InvalidBucketState")
	wantStatus(t, err, http.StatusConflict)
	if err := setVersioning(t, c, "plain", types.BucketVersioningStatusEnabled); err != nil {
		t.Fatal(err)
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("old")})
	if err != nil || aws.ToString(h.VersionId) != "null" {
		t.Fatalf("pre-versioning object's version id: %q %v", aws.ToString(h.VersionId), err)
	}
	if err := enable(); err != nil {
		t.Fatalf("enable Object Lock on a versioned bucket: %v", err)
	}
	_, err = c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: b, Key: aws.String("old")})
	wantCode(t, err, "NoSuchObjectLockConfiguration")
	_, err = c.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: b, Key: aws.String("old")})
	wantCode(t, err, "NoSuchObjectLockConfiguration")
	if _, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: b, Key: aws.String("old"), VersionId: aws.String("null"),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: until}}); err != nil {
		t.Fatalf("retention on the null version: %v", err)
	}
	wantCode(t, delVersion(c, "plain", "old", "null", false), "AccessDenied")
	lockBadSettings(t, c, "plain")
	lockNeedsIntegrity(t, node, "plain")
}

// lockBadSettings: bad lock headers and configurations get InvalidArgument
// or MalformedXML, and a PUT with lock headers but no Content-MD5,
// checksum or signed payload hash gets InvalidRequest.
func lockBadSettings(t *testing.T, c *s3.Client, b string) {
	t.Helper()
	ctx := context.Background()
	put := func(mode types.ObjectLockMode, until *time.Time) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("bad"), Body: strings.NewReader("x"),
			ObjectLockMode: mode, ObjectLockRetainUntilDate: until})
		return err
	}
	wantCode(t, put(types.ObjectLockModeGovernance, nil), "InvalidArgument")
	wantCode(t, put("", aws.Time(time.Now().Add(time.Hour))), "InvalidArgument")
	wantCode(t, put(types.ObjectLockModeGovernance, aws.Time(time.Now().Add(-time.Hour))), "InvalidArgument")
	wantCode(t, put("FOREVER", aws.Time(time.Now().Add(time.Hour))), "InvalidArgument")
	both := &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1), Years: aws.Int32(1)}
	for dr, code := range map[*types.DefaultRetention]string{both: "MalformedXML",
		{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(0)}: "InvalidArgument",
		{Mode: "FOREVER", Days: aws.Int32(1)}:                               "MalformedXML"} {
		_, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(b),
			ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
				Rule: &types.ObjectLockRule{DefaultRetention: dr}}})
		wantCode(t, err, code)
	}
}

// lockNeedsIntegrity: an UNSIGNED-PAYLOAD PUT with lock headers needs
// Content-MD5 (or a checksum), as S3 requires.
func lockNeedsIntegrity(t *testing.T, node *apptest.Node, b string) {
	t.Helper()
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, md5 := range []string{"", "ndTkYSaMgDT1yFZOFVxnpg=="} { // md5("x")
		req, err := http.NewRequest(http.MethodPut, node.Endpoint()+"/"+b+"/nomd5", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("x-amz-object-lock-mode", "GOVERNANCE")
		req.Header.Set("x-amz-object-lock-retain-until-date", until)
		req.Header.Set("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
		if md5 != "" {
			req.Header.Set("Content-MD5", md5)
		}
		signRawPayload(t, node, req, "UNSIGNED-PAYLOAD")
		st, code := s3Error(t, node.HTTPClient(), req)
		if md5 == "" && (st != http.StatusBadRequest || code != "InvalidRequest") {
			t.Errorf("lock PUT without Content-MD5: %d %s", st, code)
		}
		if md5 != "" && st != http.StatusOK {
			t.Errorf("lock PUT with Content-MD5: %d %s", st, code)
		}
	}
}
