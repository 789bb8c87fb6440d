package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/store"
)

// lockTest is a three-node, three-copy cluster with an S3 client on each
// node and a bucket created with Object Lock through node0.
type lockTest struct {
	t      *testing.T
	cl     *apptest.Cluster
	s      []*s3.Client
	bucket string
}

func startLockTest(t *testing.T) *lockTest {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c"}, Replicas: 3})
	lt := &lockTest{t: t, cl: cl, s: []*s3.Client{cl.Nodes[0].S3("", ""), cl.Nodes[1].S3("", ""), cl.Nodes[2].S3("", "")}, bucket: "locked"}
	if _, err := lt.s[0].CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(lt.bucket), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitVersioning(t, lt.s, lt.bucket, types.BucketVersioningStatusEnabled)
	lt.cl.WaitViews()
	return lt
}

// waitLockConfig waits until every node reads the bucket's lock
// configuration with the default retention days want (0: none).
func (lt *lockTest) waitLockConfig(want int32) {
	lt.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for n := 0; n < len(lt.s); {
		lc, err := lt.s[n].GetObjectLockConfiguration(context.Background(), &s3.GetObjectLockConfigurationInput{Bucket: aws.String(lt.bucket)})
		var days int32
		if err == nil && lc.ObjectLockConfiguration.Rule != nil {
			days = aws.ToInt32(lc.ObjectLockConfiguration.Rule.DefaultRetention.Days)
		}
		if err == nil && lc.ObjectLockConfiguration.ObjectLockEnabled == types.ObjectLockEnabledEnabled && days == want {
			n++
			continue
		}
		if time.Now().After(deadline) {
			lt.t.Fatalf("node%d's lock configuration: days %d, %v; want %d", n, days, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// held returns node n's own copy of version id of key.
func (lt *lockTest) held(n int, key, id string) (store.ObjectInfo, error) {
	return lt.cl.Nodes[n].LocalForTest().(store.Versioned).HeadObjectVersion(context.Background(), lt.bucket, key, id)
}

// everyNode checks node n's own copy of version id of key, for each
// running node n in ns.
func (lt *lockTest) everyNode(ns []int, key, id string, ok func(store.ObjectMeta) bool, what string) {
	lt.t.Helper()
	for _, n := range ns {
		info, err := lt.held(n, key, id)
		if err != nil || !ok(info.Meta) {
			lt.t.Fatalf("node%d's own copy of %s %s (%s): %+v, %v", n, key, id, what, info.Meta, err)
		}
	}
}

// put writes key through node n and waits until every node holds the
// version (a PUT is acknowledged at a write quorum; a lock change is
// applied to the copies held when it is made).
func (lt *lockTest) put(n int, key string) string {
	lt.t.Helper()
	out, err := lt.s[n].PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(lt.bucket), Key: aws.String(key), Body: strings.NewReader("body of " + key)})
	if err != nil {
		lt.t.Fatal(err)
	}
	id := aws.ToString(out.VersionId)
	lt.waitHeld(key, id)
	return id
}

// waitHeld waits until every node holds version id of key.
func (lt *lockTest) waitHeld(key, id string) {
	lt.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; i < len(lt.cl.Nodes); {
		_, err := lt.held(i, key, id)
		if err == nil {
			i++
			continue
		}
		if time.Now().After(deadline) {
			lt.t.Fatalf("node%d never held %s %s: %v", i, key, id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterObjectLock runs Object Lock through aws-sdk-go-v2 on every
// node of a three-node cluster: a bucket created with it through node0 is
// lock-enabled through every node (and cannot be Suspended); a default
// retention set through node1 reaches a PUT through node2 on every
// replica with the same date, shown by HEAD through node0; deleting that
// version by id through node0 is AccessDenied and removes no copy, then
// goes everywhere with the bypass; a legal hold and a COMPLIANCE retention
// set through one node are on every replica, read back and enforced
// through the others; a lock only one replica holds still refuses the
// removal everywhere; lifecycle's noncurrent expiration skips a locked
// version; a bucket without Object Lock refuses the lock calls.
func TestClusterObjectLock(t *testing.T) {
	lt := startLockTest(t)
	ctx := context.Background()
	all := []int{0, 1, 2}
	lt.waitLockConfig(0)
	_, err := lt.s[1].PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(lt.bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	wantAPIError(t, err, "InvalidBucketState")

	if _, err := lt.s[1].PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(lt.bucket),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
	lt.waitLockConfig(1)
	gov := lt.put(2, "gov")
	first, err := lt.held(0, "gov", gov)
	if err != nil || first.Meta.LockMode != store.LockGovernance || first.Meta.LockRetainUntil.Sub(time.Now().Add(24*time.Hour)).Abs() > time.Minute {
		t.Fatalf("node0's copy of a PUT under a default retention: %+v, %v", first.Meta, err)
	}
	lt.everyNode(all, "gov", gov, func(m store.ObjectMeta) bool {
		return m.LockMode == store.LockGovernance && m.LockRetainUntil.Equal(first.Meta.LockRetainUntil)
	}, "the same default retention")
	head, err := lt.s[0].HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(lt.bucket), Key: aws.String("gov")})
	if err != nil || head.ObjectLockMode != types.ObjectLockModeGovernance || !aws.ToTime(head.ObjectLockRetainUntilDate).Equal(first.Meta.LockRetainUntil.Truncate(time.Millisecond)) {
		t.Fatalf("HEAD through node0: %q %v, %v", head.ObjectLockMode, aws.ToTime(head.ObjectLockRetainUntilDate), err)
	}
	wantAPIError(t, lockDelete(lt.s[0], lt.bucket, "gov", gov, false), "AccessDenied")
	lt.everyNode(all, "gov", gov, func(m store.ObjectMeta) bool { return m.LockMode == store.LockGovernance }, "kept after a refused delete")
	if err := lockDelete(lt.s[0], lt.bucket, "gov", gov, true); err != nil {
		t.Fatalf("delete with the bypass: %v", err)
	}
	for n := range all {
		if _, err := lt.held(n, "gov", gov); !errors.Is(err, store.ErrNoSuchVersion) {
			t.Fatalf("node%d still holds the version deleted with the bypass: %v", n, err)
		}
	}

	hold := lt.put(0, "hold")
	if _, err := lt.s[1].PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(lt.bucket), Key: aws.String("hold"), VersionId: aws.String(hold),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}}); err != nil {
		t.Fatal(err)
	}
	lt.everyNode(all, "hold", hold, func(m store.ObjectMeta) bool { return m.LegalHold }, "legal hold ON")
	lh, err := lt.s[2].GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(lt.bucket), Key: aws.String("hold"), VersionId: aws.String(hold)})
	if err != nil || lh.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("GetObjectLegalHold through node2: %+v, %v", lh, err)
	}
	wantAPIError(t, lockDelete(lt.s[2], lt.bucket, "hold", hold, true), "AccessDenied")
	lt.everyNode(all, "hold", hold, func(m store.ObjectMeta) bool { return m.LegalHold }, "kept under a legal hold")

	lockDefaultWrites(lt, all, hold)
	lockCompliance(lt, all)
	lockOnOneReplica(lt, all)
	lockExpire(lt, all)
	lockNotEnabled(lt)
}

// lockDefaultWrites: a multipart upload completed through node1 and a
// copy made through node2 get the default retention on every replica,
// the same date everywhere; the copy does not inherit the source's legal
// hold.
func lockDefaultWrites(lt *lockTest, all []int, hold string) {
	t := lt.t
	t.Helper()
	ctx := context.Background()
	big, _ := multipartVersion(t, lt.s[1], lt.bucket, "big")
	out, err := lt.s[2].CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(lt.bucket), Key: aws.String("copy"),
		CopySource: aws.String(lt.bucket + "/hold?versionId=" + hold)})
	if err != nil {
		t.Fatal(err)
	}
	for key, id := range map[string]string{"big": big, "copy": aws.ToString(out.VersionId)} {
		lt.waitHeld(key, id)
		first, err := lt.held(0, key, id)
		if err != nil || first.Meta.LockMode != store.LockGovernance || first.Meta.LockRetainUntil.Sub(time.Now().Add(24*time.Hour)).Abs() > time.Minute {
			t.Fatalf("node0's copy of %s: %+v, %v", key, first.Meta, err)
		}
		lt.everyNode(all, key, id, func(m store.ObjectMeta) bool {
			return m.LockMode == store.LockGovernance && m.LockRetainUntil.Equal(first.Meta.LockRetainUntil) && !m.LegalHold
		}, "the same default retention, no legal hold")
		wantAPIError(t, lockDelete(lt.s[0], lt.bucket, key, id, false), "AccessDenied")
	}
}

// lockDelete deletes version vid of bucket/key through c.
func lockDelete(c *s3.Client, bucket, key, vid string, bypass bool) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(vid)}
	if bypass {
		in.BypassGovernanceRetention = aws.Bool(true)
	}
	_, err := c.DeleteObject(context.Background(), in)
	return err
}

// lockCompliance: COMPLIANCE set through node2 is on every replica, reads
// back through node0, cannot be shortened through node1 even with the
// bypass, and refuses the bypass delete.
func lockCompliance(lt *lockTest, all []int) {
	t := lt.t
	t.Helper()
	ctx := context.Background()
	comp := lt.put(1, "comp")
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	set := func(n int, d time.Time) error {
		_, err := lt.s[n].PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String(lt.bucket), Key: aws.String("comp"), VersionId: aws.String(comp),
			BypassGovernanceRetention: aws.Bool(true), Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: aws.Time(d)}})
		return err
	}
	if err := set(2, until); err != nil {
		t.Fatal(err)
	}
	lt.everyNode(all, "comp", comp, func(m store.ObjectMeta) bool {
		return m.LockMode == store.LockCompliance && m.LockRetainUntil.Equal(until)
	}, "COMPLIANCE")
	r, err := lt.s[0].GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(lt.bucket), Key: aws.String("comp"), VersionId: aws.String(comp)})
	if err != nil || r.Retention.Mode != types.ObjectLockRetentionModeCompliance || !aws.ToTime(r.Retention.RetainUntilDate).Equal(until) {
		t.Fatalf("GetObjectRetention through node0: %+v, %v", r, err)
	}
	wantAPIError(t, set(1, until.Add(-time.Minute)), "AccessDenied")
	lt.everyNode(all, "comp", comp, func(m store.ObjectMeta) bool { return m.LockRetainUntil.Equal(until) }, "not shortened")
	wantAPIError(t, lockDelete(lt.s[0], lt.bucket, "comp", comp, true), "AccessDenied")
	lt.everyNode(all, "comp", comp, func(m store.ObjectMeta) bool { return m.LockMode == store.LockCompliance }, "kept")
}

// lockOnOneReplica: a legal hold only node1's copy holds (the others
// missed the change) still refuses a bypass delete through node2, and no
// copy is removed.
func lockOnOneReplica(lt *lockTest, all []int) {
	t := lt.t
	t.Helper()
	ctx := context.Background()
	one := lt.put(0, "one")
	on := true
	l := lt.cl.Nodes[1].LocalForTest().(interface {
		SetVersionLock(context.Context, string, string, string, store.LockChange) error
	})
	if err := l.SetVersionLock(ctx, lt.bucket, "one", one, store.LockChange{LegalHold: &on}); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, lockDelete(lt.s[2], lt.bucket, "one", one, true), "AccessDenied")
	lt.everyNode(all, "one", one, func(store.ObjectMeta) bool { return true }, "kept while one copy is held")
}

// lockExpire: lifecycle's noncurrent expiration through the cluster
// engine is refused for a locked version (store.ErrObjectLocked, which
// the lifecycle pass counts and skips) and removes no copy; an unlocked
// noncurrent version still goes.
func lockExpire(lt *lockTest, all []int) {
	t := lt.t
	t.Helper()
	ctx := context.Background()
	x := lt.cl.Nodes[2].EngineForTest().(store.VersionExpirer)
	lt.put(0, "comp") // comp's COMPLIANCE version becomes noncurrent
	cur, err := lt.cl.Nodes[0].EngineForTest().HeadObject(ctx, lt.bucket, "comp")
	if err != nil {
		t.Fatal(err)
	}
	vers, err := lt.s[1].ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(lt.bucket), Prefix: aws.String("comp")})
	if err != nil || len(vers.Versions) != 2 {
		t.Fatalf("versions of comp: %+v, %v", vers, err)
	}
	old := aws.ToString(vers.Versions[1].VersionId)
	if ok, err := x.ExpireNoncurrent(ctx, lt.bucket, "comp", old); ok || !errors.Is(err, store.ErrObjectLocked) {
		t.Fatalf("expire a locked noncurrent version: %v, %v", ok, err)
	}
	lt.everyNode(all, "comp", old, func(m store.ObjectMeta) bool { return m.LockMode == store.LockCompliance }, "kept by lifecycle")
	// The newer version has the default GOVERNANCE retention: lift it,
	// make it noncurrent, and lifecycle removes it everywhere.
	if _, err := lt.s[2].PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String(lt.bucket), Key: aws.String("comp"), VersionId: aws.String(cur.VersionID),
		BypassGovernanceRetention: aws.Bool(true), Retention: &types.ObjectLockRetention{}}); err != nil {
		t.Fatalf("lift GOVERNANCE with the bypass: %v", err)
	}
	lt.put(1, "comp")
	if ok, err := x.ExpireNoncurrent(ctx, lt.bucket, "comp", cur.VersionID); !ok || err != nil {
		t.Fatalf("expire an unlocked noncurrent version: %v, %v", ok, err)
	}
	for n := range all {
		if _, err := lt.held(n, "comp", cur.VersionID); !errors.Is(err, store.ErrNoSuchVersion) {
			t.Fatalf("node%d still holds the expired version: %v", n, err)
		}
	}
}

// lockNotEnabled: a bucket without Object Lock answers the lock calls as
// S3 does, through any node.
func lockNotEnabled(lt *lockTest) {
	t := lt.t
	t.Helper()
	ctx := context.Background()
	if _, err := lt.s[0].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("plain")}); err != nil {
		t.Fatal(err)
	}
	putObj(t, lt.s[0], "plain", "k", []byte("x"))
	_, err := lt.s[1].GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("plain")})
	wantAPIError(t, err, "ObjectLockConfigurationNotFoundError")
	_, err = lt.s[2].PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("plain"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}})
	wantAPIError(t, err, "InvalidBucketState")
	_, err = lt.s[2].PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String("plain"), Key: aws.String("k"),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}})
	wantAPIError(t, err, "InvalidRequest")
}

// TestClusterObjectLockNodeDown: with node2 stopped, a version under a
// legal hold set through node0 cannot be deleted through node1, with or
// without the bypass, and both running nodes keep their copies; once the
// hold is lifted the delete goes through.
func TestClusterObjectLockNodeDown(t *testing.T) {
	lt := startLockTest(t)
	ctx := context.Background()
	lt.waitLockConfig(0)
	vid := lt.put(0, "k")
	if _, err := lt.s[0].PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(lt.bucket), Key: aws.String("k"), VersionId: aws.String(vid),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}}); err != nil {
		t.Fatal(err)
	}
	lt.cl.Nodes[2].Stop()
	lt.cl.Wait(time.Minute, "node2 down", func(st *client.ClusterStatus) bool { return stateOf(st, "node2") == "down" })
	for _, bypass := range []bool{false, true} {
		wantAPIError(t, lockDelete(lt.s[1], lt.bucket, "k", vid, bypass), "AccessDenied")
	}
	lt.everyNode([]int{0, 1}, "k", vid, func(m store.ObjectMeta) bool { return m.LegalHold }, "kept with node2 down")
	got, err := lt.s[1].GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(lt.bucket), Key: aws.String("k"), VersionId: aws.String(vid)})
	if err != nil || got.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("GET through node1 with node2 down: %+v, %v", got, err)
	}
	got.Body.Close()
	if _, err := lt.s[1].PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(lt.bucket), Key: aws.String("k"), VersionId: aws.String(vid),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOff}}); err != nil {
		t.Fatal(err)
	}
	if err := lockDelete(lt.s[0], lt.bucket, "k", vid, false); err != nil {
		t.Fatalf("delete once the hold is off: %v", err)
	}
	for _, n := range []int{0, 1} {
		if _, err := lt.held(n, "k", vid); !errors.Is(err, store.ErrNoSuchVersion) {
			t.Fatalf("node%d still holds the deleted version: %v", n, err)
		}
	}
}

// TestClusterObjectLockLifecycle: a lifecycle pass in a cluster (three
// nodes, two copies) skips a noncurrent version under COMPLIANCE
// retention, counting it, and keeps it readable through every node,
// while it expires an unlocked noncurrent version in the same bucket.
func TestClusterObjectLockLifecycle(t *testing.T) {
	cl, skew := lifecycleCluster(t, 24*time.Hour, nil)
	ctx := context.Background()
	lt := &lockTest{t: t, cl: cl, s: []*s3.Client{cl.Nodes[0].S3("", ""), cl.Nodes[1].S3("", ""), cl.Nodes[2].S3("", "")}, bucket: "lcylock"}
	if _, err := lt.s[0].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(lt.bucket), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitVersioning(t, lt.s, lt.bucket, types.BucketVersioningStatusEnabled)
	lt.cl.WaitViews()
	lt.waitLockConfig(0)
	putRules(t, lt.s[0], lt.bucket, types.LifecycleRule{Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
		NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)}})
	put := func(n int, key string, mode types.ObjectLockMode) string {
		t.Helper()
		in := &s3.PutObjectInput{Bucket: aws.String(lt.bucket), Key: aws.String(key), Body: strings.NewReader("body of " + key)}
		if mode != "" {
			in.ObjectLockMode, in.ObjectLockRetainUntilDate = mode, aws.Time(time.Now().Add(30*24*time.Hour))
		}
		out, err := lt.s[n].PutObject(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.VersionId)
	}
	locked, free := put(1, "k", types.ObjectLockModeCompliance), put(0, "free", "")
	put(2, "k", "")
	put(2, "free", "")
	skew.Store(int64(3 * 24 * time.Hour))
	st, err := cl.Nodes[2].LifecyclePass(ctx)
	if err != nil || st.Locked != 1 || st.Versions != 1 {
		t.Fatalf("the pass three days on: %+v, %v; want 1 version expired, 1 kept locked", st, err)
	}
	for n := range lt.s {
		if got := getVersion(t, lt.s[n], lt.bucket, "k", locked); string(got) != "body of k" {
			t.Fatalf("the locked version through node%d: %q", n, got)
		}
		_, err := lt.s[n].HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(lt.bucket), Key: aws.String("free"), VersionId: aws.String(free)})
		if err == nil {
			t.Fatalf("the expired version through node%d is still there", n)
		}
	}
}
