package s3api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestObjectLockMinio runs Object Lock through minio-go: a bucket made
// with ObjectLocking, SetObjectLockConfig/GetObjectLockConfig, retention
// and legal hold on put and per version, RemoveObject refused on a locked
// version and allowed through GOVERNANCE with GovernanceBypass.
func TestObjectLockMinio(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	c := node.Minio(t, "", "", false)
	ctx := context.Background()
	b := "mlock"
	if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	mode, days, unit := minio.Governance, uint(3), minio.Days
	if err := c.SetObjectLockConfig(ctx, b, &mode, &days, &unit); err != nil {
		t.Fatal(err)
	}
	enabled, gm, gd, gu, err := c.GetObjectLockConfig(ctx, b)
	if err != nil || enabled != "Enabled" || gm == nil || *gm != minio.Governance || *gd != 3 || *gu != minio.Days {
		t.Fatalf("GetObjectLockConfig: %q %v %v %v %v", enabled, gm, gd, gu, err)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	comp := minio.Compliance
	info, err := c.PutObject(ctx, b, "k", strings.NewReader("data"), 4, minio.PutObjectOptions{Mode: comp, RetainUntilDate: until, LegalHold: minio.LegalHoldEnabled})
	if err != nil {
		t.Fatal(err)
	}
	rm, ru, err := c.GetObjectRetention(ctx, b, "k", info.VersionID)
	if err != nil || rm == nil || *rm != minio.Compliance || !ru.Equal(until) {
		t.Fatalf("GetObjectRetention: %v %v %v", rm, ru, err)
	}
	hold, err := c.GetObjectLegalHold(ctx, b, "k", minio.GetObjectLegalHoldOptions{VersionID: info.VersionID})
	if err != nil || *hold != minio.LegalHoldEnabled {
		t.Fatalf("GetObjectLegalHold: %v %v", hold, err)
	}
	err = c.RemoveObject(ctx, b, "k", minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true})
	if minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("remove a COMPLIANCE version: %v", err)
	}
	off := minio.LegalHoldDisabled
	if err := c.PutObjectLegalHold(ctx, b, "k", minio.PutObjectLegalHoldOptions{VersionID: info.VersionID, Status: &off}); err != nil {
		t.Fatal(err)
	}
	minioGovernance(t, c, b)
}

// minioGovernance: a version under the default GOVERNANCE retention is
// removed only with GovernanceBypass; retention set by PutObjectRetention
// cannot be shortened without it.
func minioGovernance(t *testing.T, c *minio.Client, b string) {
	t.Helper()
	ctx := context.Background()
	info, err := c.PutObject(ctx, b, "g", strings.NewReader("gov"), 3, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rm, ru, err := c.GetObjectRetention(ctx, b, "g", info.VersionID)
	if err != nil || *rm != minio.Governance || ru.Before(time.Now().Add(71*time.Hour)) {
		t.Fatalf("default retention: %v %v %v", rm, ru, err)
	}
	gov, sooner := minio.Governance, time.Now().Add(time.Hour)
	err = c.PutObjectRetention(ctx, b, "g", minio.PutObjectRetentionOptions{VersionID: info.VersionID, Mode: &gov, RetainUntilDate: &sooner})
	if minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("shorten GOVERNANCE without bypass: %v", err)
	}
	err = c.PutObjectRetention(ctx, b, "g", minio.PutObjectRetentionOptions{VersionID: info.VersionID, Mode: &gov, RetainUntilDate: &sooner, GovernanceBypass: true})
	if err != nil {
		t.Fatalf("shorten GOVERNANCE with bypass: %v", err)
	}
	err = c.RemoveObject(ctx, b, "g", minio.RemoveObjectOptions{VersionID: info.VersionID})
	if minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("remove a GOVERNANCE version: %v", err)
	}
	if err := c.RemoveObject(ctx, b, "g", minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true}); err != nil {
		t.Fatalf("remove with GovernanceBypass: %v", err)
	}
}
