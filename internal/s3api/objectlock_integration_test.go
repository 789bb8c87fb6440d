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

// lockPut puts bucket/key with the given lock settings and returns the
// version id.
func lockPut(t *testing.T, c *s3.Client, bucket, key string, mode types.ObjectLockMode, until time.Time, hold types.ObjectLockLegalHoldStatus) string {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("locked " + key),
		ObjectLockMode: mode, ObjectLockLegalHoldStatus: hold}
	if !until.IsZero() {
		in.ObjectLockRetainUntilDate = aws.Time(until)
	}
	out, err := c.PutObject(context.Background(), in)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return aws.ToString(out.VersionId)
}

func delVersion(c *s3.Client, bucket, key, vid string, bypass bool) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(vid)}
	if bypass {
		in.BypassGovernanceRetention = aws.Bool(true)
	}
	_, err := c.DeleteObject(context.Background(), in)
	return err
}

// TestObjectLockSDK runs Object Lock through aws-sdk-go-v2: a bucket
// created with it (versioning Enabled, never Suspended), its default
// retention, retention and legal hold per version, and the rule that a
// locked version cannot be deleted by id, by its owner either, while a
// delete marker can still go in front of it.
func TestObjectLockSDK(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	c := node.S3("", "")
	ctx := context.Background()
	b := "locked"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	gv, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
	if err != nil || gv.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning of a lock bucket: %q %v", gv.Status, err)
	}
	err = setVersioning(t, c, b, types.BucketVersioningStatusSuspended)
	wantCode(t, err, "InvalidBucketState")
	wantStatus(t, err, http.StatusConflict)
	lc, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(b)})
	if err != nil || lc.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled || lc.ObjectLockConfiguration.Rule != nil {
		t.Fatalf("lock configuration: %+v %v", lc.ObjectLockConfiguration, err)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	comp := lockPut(t, c, b, "comp", types.ObjectLockModeCompliance, until, "")
	gov := lockPut(t, c, b, "gov", types.ObjectLockModeGovernance, until, "")
	hold := lockPut(t, c, b, "hold", "", time.Time{}, types.ObjectLockLegalHoldStatusOn)
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("comp")})
	if err != nil || head.ObjectLockMode != types.ObjectLockModeCompliance || !aws.ToTime(head.ObjectLockRetainUntilDate).Equal(until) {
		t.Fatalf("HEAD comp: %q %v %v", head.ObjectLockMode, aws.ToTime(head.ObjectLockRetainUntilDate), err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("hold")})
	if err != nil || got.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("GET hold: %q %v", got.ObjectLockLegalHoldStatus, err)
	}
	got.Body.Close()
	for _, v := range []struct {
		key, vid string
		bypass   bool
	}{{"comp", comp, false}, {"comp", comp, true}, {"gov", gov, false}, {"hold", hold, true}} {
		err := delVersion(c, b, v.key, v.vid, v.bypass)
		wantCode(t, err, "AccessDenied")
		wantStatus(t, err, http.StatusForbidden)
	}
	if err := delVersion(c, b, "gov", gov, true); err != nil {
		t.Fatalf("owner's bypass delete of GOVERNANCE: %v", err)
	}
	lockRetention(t, c, b, comp, until)
	lockLegalHold(t, c, b, hold)
	lockDeletes(t, c, b, comp)
	lockDefault(t, c, b)
	lockCopyAndMultipart(t, c, b, comp, until)
}

// lockRetention: COMPLIANCE reads back, cannot be shortened even with
// the bypass, and can be extended.
func lockRetention(t *testing.T, c *s3.Client, b, comp string, until time.Time) {
	t.Helper()
	ctx := context.Background()
	r, err := c.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("comp"), VersionId: aws.String(comp)})
	if err != nil || r.Retention.Mode != types.ObjectLockRetentionModeCompliance || !aws.ToTime(r.Retention.RetainUntilDate).Equal(until) {
		t.Fatalf("GetObjectRetention: %+v %v", r.Retention, err)
	}
	set := func(mode types.ObjectLockRetentionMode, d time.Time) error {
		_, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("comp"), VersionId: aws.String(comp),
			BypassGovernanceRetention: aws.Bool(true), Retention: &types.ObjectLockRetention{Mode: mode, RetainUntilDate: aws.Time(d)}})
		return err
	}
	wantCode(t, set(types.ObjectLockRetentionModeCompliance, until.Add(-time.Minute)), "AccessDenied")
	wantCode(t, set(types.ObjectLockRetentionModeGovernance, until.Add(time.Hour)), "AccessDenied")
	if err := set(types.ObjectLockRetentionModeCompliance, until.Add(time.Hour)); err != nil {
		t.Fatalf("extend COMPLIANCE: %v", err)
	}
	wantCode(t, set(types.ObjectLockRetentionModeCompliance, time.Now().Add(-time.Hour)), "InvalidArgument")
}

// lockLegalHold: the hold reads back, and once OFF the version goes.
func lockLegalHold(t *testing.T, c *s3.Client, b, hold string) {
	t.Helper()
	ctx := context.Background()
	lh, err := c.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("hold"), VersionId: aws.String(hold)})
	if err != nil || lh.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("GetObjectLegalHold: %+v %v", lh.LegalHold, err)
	}
	if _, err := c.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("hold"), VersionId: aws.String(hold),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOff}}); err != nil {
		t.Fatal(err)
	}
	if err := delVersion(c, b, "hold", hold, false); err != nil {
		t.Fatalf("delete after the hold is off: %v", err)
	}
}

// lockDeletes: a delete without version id adds a marker; DeleteObjects
// reports AccessDenied for the locked version alone; PutObjectAcl works.
func lockDeletes(t *testing.T, c *s3.Client, b, comp string) {
	t.Helper()
	ctx := context.Background()
	dm, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("comp")})
	if err != nil || !aws.ToBool(dm.DeleteMarker) {
		t.Fatalf("delete marker in front of a locked version: %+v %v", dm, err)
	}
	free := vput(t, c, b, "free", "x")
	out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("comp"), VersionId: aws.String(comp)}, {Key: aws.String("free"), VersionId: aws.String(free)}}}})
	if err != nil || len(out.Deleted) != 1 || len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "AccessDenied" ||
		aws.ToString(out.Errors[0].Key) != "comp" {
		t.Fatalf("DeleteObjects: %+v %+v %v", out.Deleted, out.Errors, err)
	}
	if _, err := c.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(b), Key: aws.String("comp"), VersionId: aws.String(comp),
		ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatalf("PutObjectAcl on a locked version: %v", err)
	}
	if _, _, err := vget(t, c, b, "comp", comp); err != nil {
		t.Fatalf("locked version gone: %v", err)
	}
}

// lockDefault: a default retention applies to new versions that name none.
func lockDefault(t *testing.T, c *s3.Client, b string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(b),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(2)}}}}); err != nil {
		t.Fatal(err)
	}
	lc, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(b)})
	if err != nil || lc.ObjectLockConfiguration.Rule == nil || aws.ToInt32(lc.ObjectLockConfiguration.Rule.DefaultRetention.Days) != 2 {
		t.Fatalf("default retention: %+v %v", lc.ObjectLockConfiguration, err)
	}
	vid := vput(t, c, b, "dflt", "x")
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("dflt")})
	want := aws.ToTime(head.LastModified).Add(48 * time.Hour)
	if err != nil || head.ObjectLockMode != types.ObjectLockModeGovernance || aws.ToTime(head.ObjectLockRetainUntilDate).Sub(want).Abs() > 2*time.Second {
		t.Fatalf("default retention on HEAD: %q %v (want about %v) %v", head.ObjectLockMode, aws.ToTime(head.ObjectLockRetainUntilDate), want, err)
	}
	wantCode(t, delVersion(c, b, "dflt", vid, false), "AccessDenied")
}

// lockCopyAndMultipart: CopyObject and CreateMultipartUpload take lock
// headers; a copy does not inherit the source's lock (COMPLIANCE here: the
// copy has the bucket's default GOVERNANCE).
func lockCopyAndMultipart(t *testing.T, c *s3.Client, b, comp string, until time.Time) {
	t.Helper()
	ctx := context.Background()
	cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"), CopySource: aws.String(b + "/comp?versionId=" + comp),
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("copy"), VersionId: cp.VersionId})
	if err != nil || h.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn || h.ObjectLockMode != types.ObjectLockModeGovernance {
		t.Fatalf("copy: %q %q %v", h.ObjectLockLegalHoldStatus, h.ObjectLockMode, err)
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(until)})
	if err != nil {
		t.Fatal(err)
	}
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, delVersion(c, b, "mp", aws.ToString(done.VersionId), true), "AccessDenied")
}
