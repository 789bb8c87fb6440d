package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/store"
)

// versionedCluster starts three nodes with three copies and a bucket with
// versioning Enabled; it returns the cluster and an S3 client per node.
func versionedCluster(t *testing.T, bucket string) (*apptest.Cluster, []*s3.Client) {
	t.Helper()
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c"}, Replicas: 3})
	s := []*s3.Client{cl.Nodes[0].S3("", ""), cl.Nodes[1].S3("", ""), cl.Nodes[2].S3("", "")}
	ctx := context.Background()
	if _, err := s[0].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s[0].PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	waitVersioning(t, s, bucket, types.BucketVersioningStatusEnabled)
	cl.WaitViews()
	return cl, s
}

// putVersion PUTs body as a new version of bucket/key through c and
// returns its id.
func putVersion(t *testing.T, c *s3.Client, bucket, key string, body []byte) string {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return aws.ToString(out.VersionId)
}

// stopNode stops node i and waits until the others see it down.
func stopNode(cl *apptest.Cluster, i int) {
	cl.Nodes[i].Stop()
	name := fmt.Sprintf("node%d", i)
	cl.Wait(time.Minute, name+" down", func(st *client.ClusterStatus) bool { return stateOf(st, name) == "down" })
}

// restartNode starts node i again and waits until every node sees all up.
func restartNode(cl *apptest.Cluster, i int) {
	cl.Restart(i)
	cl.WaitUp(len(cl.Nodes))
	cl.WaitViews()
}

// sameVersion checks that node n's own copy of version id of bucket/key
// exists and is an exact copy of want (stamp, ETag, size, checksum).
func sameVersion(t *testing.T, cl *apptest.Cluster, n int, bucket, key, id string, want store.ObjectInfo) {
	t.Helper()
	got, err := cl.Nodes[n].LocalForTest().(store.Versioned).HeadObjectVersion(context.Background(), bucket, key, id)
	if err != nil {
		t.Fatalf("node%d's own copy of %s version %s: %v", n, key, id, err)
	}
	if got.Stamp != want.Stamp || got.ETag != want.ETag || got.Size != want.Size || got.Checksum != want.Checksum {
		t.Fatalf("node%d's copy of %s version %s is not exact:\n got %+v\nwant %+v", n, key, id, got, want)
	}
}

// noVersion checks that node n does not hold version id of bucket/key.
func noVersion(t *testing.T, cl *apptest.Cluster, n int, bucket, key, id string) {
	t.Helper()
	_, err := cl.Nodes[n].LocalForTest().(store.Versioned).HeadObjectVersion(context.Background(), bucket, key, id)
	if !errors.Is(err, store.ErrNoSuchVersion) {
		t.Fatalf("node%d holds %s version %s, removed by id: %v", n, key, id, err)
	}
}

// A node stopped while versions were written and removed by id comes
// back: repair gives it every version it missed, noncurrent ones too, as
// exact copies, and the removals it missed reach it as tombstones, so a
// removed version never comes back, neither the one it held (removed
// while it was away) nor the one it never saw. With each other node
// stopped in turn, ListObjectVersions and GET by id through it give
// exactly the versions left, byte for byte.
func TestClusterVersionRepairTombstones(t *testing.T) {
	const bucket = "vrep"
	cl, s := versionedCluster(t, bucket)
	ctx := context.Background()
	old := putVersion(t, s[0], bucket, "doc", []byte("held by node2, removed while it is away"))
	waitRepaired(t, cl, time.Now())

	stopNode(cl, 2)
	bodies := [][]byte{[]byte("version one"), bytes.Repeat([]byte("two;"), 50<<10), []byte("version three")}
	var ids []string
	for _, b := range bodies {
		ids = append(ids, putVersion(t, s[0], bucket, "doc", b))
	}
	for _, id := range []string{old, ids[1]} {
		if _, err := s[1].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc"), VersionId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]store.ObjectInfo{}
	for _, i := range []int{0, 2} {
		info, err := cl.Nodes[0].LocalForTest().(store.Versioned).HeadObjectVersion(ctx, bucket, "doc", ids[i])
		if err != nil {
			t.Fatal(err)
		}
		want[ids[i]] = info
	}

	restartNode(cl, 2)
	s[2] = cl.Nodes[2].S3("", "") // a new port
	waitRepaired(t, cl, time.Now())
	waitRepaired(t, cl, time.Now())
	for n := range cl.Nodes {
		for _, i := range []int{0, 2} {
			sameVersion(t, cl, n, bucket, "doc", ids[i], want[ids[i]])
		}
		noVersion(t, cl, n, bucket, "doc", old)
		noVersion(t, cl, n, bucket, "doc", ids[1])
	}
	lines := []string{"doc " + ids[2] + " latest", "doc " + ids[0]}
	for _, down := range []int{0, 1} {
		stopNode(cl, down)
		checkVersions(t, s[2], bucket, lines)
		for _, i := range []int{0, 2} {
			if got := getVersion(t, s[2], bucket, "doc", ids[i]); !bytes.Equal(got, bodies[i]) {
				t.Fatalf("version %d through node2 with node%d down: %d bytes", i, down, len(got))
			}
		}
		for _, id := range []string{old, ids[1]} {
			_, err := s[2].GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc"), VersionId: aws.String(id)})
			wantAPIError(t, err, "NoSuchVersion")
		}
		restartNode(cl, down)
	}
}

// A node that loses its store (its data directory's objects and index)
// gets every version back from repair: noncurrent versions and delete
// markers of several keys, exact copies under the same ids.
func TestClusterVersionRepairLostStore(t *testing.T) {
	const bucket = "vlost"
	cl, s := versionedCluster(t, bucket)
	ctx := context.Background()
	type ver struct{ key, id string }
	var all []ver
	for _, key := range []string{"doc", "k"} {
		for i := range 4 {
			all = append(all, ver{key, putVersion(t, s[i%3], bucket, key, fmt.Appendf(nil, "%s body %d", key, i))})
		}
	}
	del, err := s[1].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) {
		t.Fatalf("delete marker: %+v, %v", del, err)
	}
	all = append(all, ver{"k", aws.ToString(del.VersionId)})
	putVersion(t, s[2], bucket, "k", []byte("after the marker"))
	waitRepaired(t, cl, time.Now())

	want := map[ver]store.ObjectInfo{}
	for _, v := range all {
		h, err := lookupVersionOn(cl, 0, bucket, v.key, v.id)
		if err != nil || h.Version == nil {
			t.Fatalf("node0's copy of %v: %+v, %v", v, h, err)
		}
		want[v] = *h.Version
	}
	stopNode(cl, 1)
	if err := os.RemoveAll(filepath.Join(cl.Nodes[1].DataDir, "store")); err != nil {
		t.Fatal(err)
	}
	restartNode(cl, 1)
	waitRepaired(t, cl, time.Now())
	waitRepaired(t, cl, time.Now())
	for _, v := range all {
		h, err := lookupVersionOn(cl, 1, bucket, v.key, v.id)
		if err != nil || h.Version == nil {
			t.Fatalf("node1 lost its store; its copy of %s version %s after repair: %+v, %v", v.key, v.id, h, err)
		}
		got, w := *h.Version, want[v]
		if got.Stamp != w.Stamp || got.ETag != w.ETag || got.Size != w.Size || got.Checksum != w.Checksum || got.DeleteMarker != w.DeleteMarker {
			t.Fatalf("node1's copy of %s version %s is not exact:\n got %+v\nwant %+v", v.key, v.id, got, w)
		}
	}
}

// lookupVersionOn is node n's own LookupVersion (delete markers
// included).
func lookupVersionOn(cl *apptest.Cluster, n int, bucket, key, id string) (store.VersionHeld, error) {
	l := cl.Nodes[n].LocalForTest().(interface {
		LookupVersion(ctx context.Context, bucket, key, id string) (store.VersionHeld, error)
	})
	return l.LookupVersion(context.Background(), bucket, key, id)
}

// Four nodes with two copies: versions of many keys (one removed by id)
// are written; a node stops and repair brings every version, noncurrent
// ones included, back to two copies on the nodes left; the node comes
// back and repair moves them again, so each version ends with exactly
// two copies (a node no longer a target drops its copy once every target
// holds it) and the removed version with none.
func TestClusterVersionRepairMoves(t *testing.T) {
	const bucket = "vmove"
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c", "d"}, Replicas: 2})
	s := []*s3.Client{cl.Nodes[0].S3("", ""), cl.Nodes[1].S3("", "")}
	ctx := context.Background()
	if _, err := s[0].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s[0].PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	waitVersioning(t, s, bucket, types.BucketVersioningStatusEnabled)
	cl.WaitViews()
	type ver struct{ key, id string }
	bodies := map[ver][]byte{}
	for k := range 12 {
		key := fmt.Sprintf("key%02d", k)
		for i := range 3 {
			b := fmt.Appendf(nil, "%s version %d", key, i)
			bodies[ver{key, putVersion(t, s[i%2], bucket, key, b)}] = b
		}
	}
	var removed ver
	for v := range bodies {
		removed = v
		break
	}
	delete(bodies, removed)
	if _, err := s[1].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(removed.key), VersionId: aws.String(removed.id)}); err != nil {
		t.Fatal(err)
	}
	copies := func(nodes []int, v ver) int {
		n := 0
		for _, i := range nodes {
			h, err := lookupVersionOn(cl, i, bucket, v.key, v.id)
			if err != nil {
				t.Fatal(err)
			}
			if h.Version != nil {
				n++
			}
		}
		return n
	}
	check := func(nodes []int, when string) {
		t.Helper()
		for v, b := range bodies {
			if n := copies(nodes, v); n != 2 {
				t.Fatalf("%s: %s version %s has %d copies, want 2", when, v.key, v.id, n)
			}
			if got := getVersion(t, s[0], bucket, v.key, v.id); !bytes.Equal(got, b) {
				t.Fatalf("%s: %s version %s reads %q", when, v.key, v.id, got)
			}
		}
		if n := copies(nodes, removed); n != 0 {
			t.Fatalf("%s: the removed version has %d copies", when, n)
		}
	}

	stopNode(cl, 3)
	waitRepaired(t, cl, time.Now())
	waitRepaired(t, cl, time.Now())
	check([]int{0, 1, 2}, "node3 down")
	restartNode(cl, 3)
	waitRepaired(t, cl, time.Now())
	waitRepaired(t, cl, time.Now())
	check([]int{0, 1, 2, 3}, "node3 back")
}

// ACL, legal hold and retention changes of versions made while a node is
// stopped reach it through repair once it is back (each change is
// stamped, and repair compares the stamps of copies of one version).
func TestClusterVersionRepairSettings(t *testing.T) {
	lt := startLockTest(t)
	cl, s, bucket := lt.cl, lt.s, lt.bucket
	ctx := context.Background()
	v1 := putVersion(t, s[0], bucket, "doc", []byte("version one"))
	v2 := putVersion(t, s[0], bucket, "doc", []byte("version two"))
	waitRepaired(t, cl, time.Now())

	stopNode(cl, 2)
	if _, err := s[0].PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(bucket), Key: aws.String("doc"),
		VersionId: aws.String(v1), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if _, err := s[1].PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(bucket), Key: aws.String("doc"),
		VersionId: aws.String(v1), LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}}); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if _, err := s[0].PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String(bucket), Key: aws.String("doc"),
		VersionId: aws.String(v2), Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: &until}}); err != nil {
		t.Fatal(err)
	}
	restartNode(cl, 2)
	waitRepaired(t, cl, time.Now())
	waitRepaired(t, cl, time.Now())
	l := cl.Nodes[2].LocalForTest().(store.Versioned)
	m1, err := l.HeadObjectVersion(ctx, bucket, "doc", v1)
	if err != nil || m1.Meta.ACL != "public-read" || !m1.Meta.LegalHold {
		t.Fatalf("node2's copy of version 1 after repair: ACL %q, legal hold %v, %v", m1.Meta.ACL, m1.Meta.LegalHold, err)
	}
	m2, err := l.HeadObjectVersion(ctx, bucket, "doc", v2)
	if err != nil || m2.Meta.LockMode != store.LockGovernance || !m2.Meta.LockRetainUntil.Equal(until) {
		t.Fatalf("node2's copy of version 2 after repair: retention %q until %v, %v", m2.Meta.LockMode, m2.Meta.LockRetainUntil, err)
	}
}
