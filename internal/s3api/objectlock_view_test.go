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

// lockView is the Object Lock state a GET or HEAD showed.
type lockView struct {
	mode  types.ObjectLockMode
	until time.Time
	hold  types.ObjectLockLegalHoldStatus
}

// viewLock reads bucket/key's lock headers through c with HEAD and with
// GET, which must agree.
func viewLock(t *testing.T, c *s3.Client, bucket, key string) lockView {
	t.Helper()
	ctx := context.Background()
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("HEAD %s: %v", key, err)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	got.Body.Close()
	hv := lockView{head.ObjectLockMode, aws.ToTime(head.ObjectLockRetainUntilDate), head.ObjectLockLegalHoldStatus}
	gv := lockView{got.ObjectLockMode, aws.ToTime(got.ObjectLockRetainUntilDate), got.ObjectLockLegalHoldStatus}
	if hv != gv {
		t.Fatalf("HEAD shows %+v, GET %+v", hv, gv)
	}
	return hv
}

// TestObjectLockHeadersNeedPermission: GET and HEAD show a version's
// retention only to a caller allowed s3:GetObjectRetention on it, and its
// legal hold only to one allowed s3:GetObjectLegalHold, as S3 does: the
// owner sees both; an anonymous reader and another account allowed only
// s3:GetObject by the bucket policy see neither; an account also granted
// s3:GetObjectRetention sees the mode and date but not the hold, and one
// a Deny refuses s3:GetObjectLegalHold does not see the hold.
func TestObjectLockHeadersNeedPermission(t *testing.T) {
	node := apptest.Start(t, apptest.Options{})
	alice, bob, carol := newAccount(t, node, "alice"), newAccount(t, node, "bob"), newAccount(t, node, "carol")
	ctx := context.Background()
	b := "lockview"
	if _, err := alice.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	lockPut(t, alice.s3, b, "k", types.ObjectLockModeGovernance, until, types.ObjectLockLegalHoldStatusOn)
	res := `"arn:aws:s3:::` + b + `/*"`
	if err := putPolicy(t, alice.s3, b, policyDoc(
		statement("Allow", `"*"`, `"s3:GetObject"`, res, ""),
		statement("Allow", `{"AWS":"`+bob.id+`"}`, `"s3:GetObjectRetention"`, res, ""))); err != nil {
		t.Fatal(err)
	}
	anonymous := node.S3("", "", func(o *s3.Options) { o.Credentials = aws.AnonymousCredentials{} })
	all := lockView{types.ObjectLockModeGovernance, until, types.ObjectLockLegalHoldStatusOn}
	for _, v := range []struct {
		who  string
		c    *s3.Client
		want lockView
	}{
		{"owner", alice.s3, all},
		{"anonymous reader", anonymous, lockView{}},
		{"account granted GetObject", carol.s3, lockView{}},
		{"account granted GetObjectRetention", bob.s3, lockView{mode: all.mode, until: until}},
	} {
		if got := viewLock(t, v.c, b, "k"); got != v.want {
			t.Errorf("%s sees %+v, want %+v", v.who, got, v.want)
		}
	}
	if err := putPolicy(t, alice.s3, b, policyDoc(
		statement("Allow", `"*"`, `"s3:GetObject"`, res, ""),
		statement("Deny", `{"AWS":"`+alice.id+`"}`, `"s3:GetObjectLegalHold"`, res, ""))); err != nil {
		t.Fatal(err)
	}
	if got := viewLock(t, alice.s3, b, "k"); got != (lockView{mode: all.mode, until: until}) {
		t.Errorf("owner denied s3:GetObjectLegalHold sees %+v", got)
	}
	// A policy may grant anonymous callers the lock's read actions, as AWS allows.
	if err := putPolicy(t, alice.s3, b, policyDoc(
		statement("Allow", `"*"`, `["s3:GetObject","s3:GetObjectLegalHold"]`, res, ""))); err != nil {
		t.Fatal(err)
	}
	if got := viewLock(t, anonymous, b, "k"); got != (lockView{hold: all.hold}) {
		t.Errorf("anonymous reader granted s3:GetObjectLegalHold sees %+v", got)
	}
}
