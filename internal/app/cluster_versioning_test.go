package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/store"
)

// Versioning in a three-node cluster with three copies, through
// aws-sdk-go-v2 on every node: versioning set through one node reads as
// Enabled through all; versions PUT through node0 carry ids that every
// node's local engine holds (the same id everywhere) and read back by id
// through node1; a delete marker written through node2 hides the key
// everywhere and is held by every node under one id; a version removed by
// id is gone from every node; ListObjectVersions through any node, whole
// or a version at a time, lists the merged versions newest first; copies
// from a version and multipart uploads make versions; PutObjectAcl sets
// one version's ACL on every node; with a node stopped the others still
// serve every version, list them and take new ones.
func TestClusterVersioning(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c"}, Replicas: 3})
	ctx := context.Background()
	s := []*s3.Client{cl.Nodes[0].S3("", ""), cl.Nodes[1].S3("", ""), cl.Nodes[2].S3("", "")}
	const bucket = "vers"
	if _, err := s[0].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s[1].PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	waitVersioning(t, s, bucket, types.BucketVersioningStatusEnabled)

	bodies := [][]byte{[]byte("version zero"), bytes.Repeat([]byte("one;"), 100<<10), []byte("version two")}
	var ids []string
	for _, b := range bodies {
		out, err := s[0].PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc"), Body: bytes.NewReader(b)})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(out.VersionId)
		if !store.ValidVersionID(id) || id == store.NullVersionID || slices.Contains(ids, id) {
			t.Fatalf("PUT version id %q (ids so far %v)", id, ids)
		}
		ids = append(ids, id)
	}
	for i, id := range ids {
		for n := range cl.Nodes {
			l := cl.Nodes[n].LocalForTest().(store.Versioned)
			info, err := l.HeadObjectVersion(ctx, bucket, "doc", id)
			if err != nil || info.Size != int64(len(bodies[i])) {
				t.Fatalf("node%d's own copy of version %d (%s): %d bytes, %v", n, i, id, info.Size, err)
			}
		}
		if got := getVersion(t, s[1], bucket, "doc", id); !bytes.Equal(got, bodies[i]) {
			t.Fatalf("version %d through node1: %d bytes, want %d", i, len(got), len(bodies[i]))
		}
		head, err := s[2].HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc"), VersionId: aws.String(id)})
		if err != nil || aws.ToInt64(head.ContentLength) != int64(len(bodies[i])) || aws.ToString(head.VersionId) != id {
			t.Fatalf("HEAD version %d through node2: %+v, %v", i, head, err)
		}
	}
	for n := range s {
		got, err := getObj(s[n], bucket, "doc")
		if err != nil || !bytes.Equal(got, bodies[2]) {
			t.Fatalf("latest through node%d: %q, %v", n, got, err)
		}
	}
	putObj(t, s[1], bucket, "other", []byte("another key"))
	// No wait for repair: a repair copy of a version still in flight when
	// the version is removed meets its tombstone and is refused. Every
	// node's view must show every node up, so the removals below reach
	// all three.
	cl.WaitViews()

	del, err := s[2].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || !store.ValidVersionID(aws.ToString(del.VersionId)) {
		t.Fatalf("DELETE through node2: %+v, %v", del, err)
	}
	marker := aws.ToString(del.VersionId)
	for n := range cl.Nodes {
		l := cl.Nodes[n].LocalForTest().(store.Versioned)
		if _, err := l.HeadObjectVersion(ctx, bucket, "doc", marker); !errors.Is(err, store.ErrVersionIsDeleteMarker) {
			t.Fatalf("node%d's own copy of the delete marker %s: %v", n, marker, err)
		}
	}
	for n := range s {
		if _, err := getObj(s[n], bucket, "doc"); !isNoSuchKey(err) {
			t.Fatalf("latest through node%d after the delete marker: %v", n, err)
		}
	}
	if got := getVersion(t, s[0], bucket, "doc", ids[1]); !bytes.Equal(got, bodies[1]) {
		t.Fatal("version 1 behind the delete marker")
	}

	if _, err := s[1].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc"), VersionId: aws.String(ids[1])}); err != nil {
		t.Fatal(err)
	}
	for n := range cl.Nodes {
		l := cl.Nodes[n].LocalForTest().(store.Versioned)
		if _, err := l.HeadObjectVersion(ctx, bucket, "doc", ids[1]); !errors.Is(err, store.ErrNoSuchVersion) {
			t.Fatalf("node%d still holds the removed version: %v", n, err)
		}
	}
	_, err = s[2].GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc"), VersionId: aws.String(ids[1])})
	wantAPIError(t, err, "NoSuchVersion")

	want := []string{"doc " + marker + " latest marker", "doc " + ids[2], "doc " + ids[0], "other latest"}
	for n := range s {
		checkVersions(t, s[n], bucket, want)
	}

	// Removing the delete marker makes version 2 the latest again.
	if _, err := s[0].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc"), VersionId: aws.String(marker)}); err != nil {
		t.Fatal(err)
	}
	if got, err := getObj(s[1], bucket, "doc"); err != nil || !bytes.Equal(got, bodies[2]) {
		t.Fatalf("latest after removing the marker: %q, %v", got, err)
	}

	// A copy from a version, and a multipart upload, are versions too.
	cp, err := s[2].CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(bucket), Key: aws.String("copy"),
		CopySource: aws.String(bucket + "/doc?versionId=" + ids[0])})
	if err != nil || !store.ValidVersionID(aws.ToString(cp.VersionId)) || aws.ToString(cp.CopySourceVersionId) != ids[0] {
		t.Fatalf("copy from version 0: %+v, %v", cp, err)
	}
	if got, err := getObj(s[0], bucket, "copy"); err != nil || !bytes.Equal(got, bodies[0]) {
		t.Fatalf("the copy through node0: %q, %v", got, err)
	}
	bigID, big := multipartVersion(t, s[1], bucket, "doc")
	for n := range cl.Nodes {
		l := cl.Nodes[n].LocalForTest().(store.Versioned)
		if info, err := l.HeadObjectVersion(ctx, bucket, "doc", bigID); err != nil || info.Size != int64(len(big)) {
			t.Fatalf("node%d's own copy of the multipart version: %d bytes, %v", n, info.Size, err)
		}
	}
	if got := getVersion(t, s[2], bucket, "doc", bigID); !bytes.Equal(got, big) {
		t.Fatalf("multipart version through node2: %d bytes", len(got))
	}
	if _, err := s[0].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc"), VersionId: aws.String(bigID)}); err != nil {
		t.Fatal(err)
	}

	// PutObjectAcl sets one version's ACL in place, on every node.
	if _, err := s[0].PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(bucket), Key: aws.String("doc"),
		VersionId: aws.String(ids[0]), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	for n := range cl.Nodes {
		l := cl.Nodes[n].LocalForTest().(store.Versioned)
		if info, err := l.HeadObjectVersion(ctx, bucket, "doc", ids[0]); err != nil || info.Meta.ACL != "public-read" {
			t.Fatalf("node%d's own copy of version 0 after PutObjectAcl: ACL %q, %v", n, info.Meta.ACL, err)
		}
		if info, err := l.HeadObjectVersion(ctx, bucket, "doc", ids[2]); err != nil || info.Meta.ACL != "" {
			t.Fatalf("node%d's own copy of version 2 after PutObjectAcl of version 0: ACL %q, %v", n, info.Meta.ACL, err)
		}
	}
	if acl, err := s[2].GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(bucket), Key: aws.String("doc"), VersionId: aws.String(ids[0])}); err != nil || len(acl.Grants) < 2 {
		t.Fatalf("ACL of version 0 through node2: %+v, %v", acl, err)
	}
	// In a bucket without versioning PutObjectAcl rewrites the object.
	if _, err := s[0].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("plain")}); err != nil {
		t.Fatal(err)
	}
	putObj(t, s[0], "plain", "k", []byte("plain object"))
	if _, err := s[1].PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String("plain"), Key: aws.String("k"), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	acl, err := s[2].GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String("plain"), Key: aws.String("k")})
	if err != nil || len(acl.Grants) < 2 {
		t.Fatalf("ACL through node2 after public-read through node1: %+v, %v", acl, err)
	}
	if got, err := getObj(s[2], "plain", "k"); err != nil || string(got) != "plain object" {
		t.Fatalf("the object after its ACL changed: %q, %v", got, err)
	}
	pv, err := s[1].ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("plain")})
	if err != nil || len(pv.Versions) != 1 || aws.ToString(pv.Versions[0].VersionId) != "null" || !aws.ToBool(pv.Versions[0].IsLatest) {
		t.Fatalf("versions of a bucket without versioning: %+v, %v", pv, err)
	}

	cl.Nodes[2].Stop()
	cl.Wait(time.Minute, "node2 down", func(st *client.ClusterStatus) bool { return stateOf(st, "node2") == "down" })
	for _, i := range []int{0, 2} {
		if got := getVersion(t, s[1], bucket, "doc", ids[i]); !bytes.Equal(got, bodies[i]) {
			t.Fatalf("version %d with node2 down: %d bytes", i, len(got))
		}
	}
	out, err := s[1].PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc"), Body: strings.NewReader("version three")})
	if err != nil {
		t.Fatalf("PUT with node2 down: %v", err)
	}
	v3 := aws.ToString(out.VersionId)
	checkVersions(t, s[0], bucket, []string{"copy latest", "doc " + v3 + " latest", "doc " + ids[2], "doc " + ids[0], "other latest"})
	if got := getVersion(t, s[0], bucket, "doc", v3); string(got) != "version three" {
		t.Fatalf("version three through node0: %q", got)
	}
}

// multipartVersion uploads a two-part object (5 MiB and a bit) as
// bucket/key through c and returns its version id and body.
func multipartVersion(t *testing.T, c *s3.Client, bucket, key string) (string, []byte) {
	t.Helper()
	ctx := context.Background()
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	body := append(bytes.Repeat([]byte("p1"), 5<<19), []byte("and part two")...)
	var done []types.CompletedPart
	for i, p := range [][]byte{body[:5<<20], body[5<<20:]} {
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.VersionId)
	if !store.ValidVersionID(id) || id == store.NullVersionID {
		t.Fatalf("multipart version id %q", id)
	}
	return id, body
}

// waitVersioning waits until every client reads bucket's versioning as
// want (each node sees the bucket record through its etcd watch).
func waitVersioning(t *testing.T, s []*s3.Client, bucket string, want types.BucketVersioningStatus) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for n := 0; n < len(s); {
		gv, err := s[n].GetBucketVersioning(context.Background(), &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
		if err == nil && gv.Status == want {
			n++
			continue
		}
		if time.Now().After(deadline) {
			status := types.BucketVersioningStatus("")
			if gv != nil {
				status = gv.Status
			}
			t.Fatalf("node%d reads versioning as %q, %v", n, status, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// getVersion reads version id of bucket/key through c.
func getVersion(t *testing.T, c *s3.Client, bucket, key, id string) []byte {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), VersionId: aws.String(id)})
	if err != nil {
		t.Fatalf("get %s version %s: %v", key, id, err)
	}
	defer out.Body.Close()
	if aws.ToString(out.VersionId) != id {
		t.Fatalf("get %s version %s answered version %q", key, id, aws.ToString(out.VersionId))
	}
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantAPIError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

// checkVersions lists bucket's versions through c, whole and then one
// entry a page (following the key and version-id markers), and compares
// both with want ("key id [latest] [marker]"; the id only for "doc" and
// "k"): the pages of one entry in order, the whole listing as a set (the
// SDK hands its versions and delete markers over apart).
func checkVersions(t *testing.T, c *s3.Client, bucket string, want []string) {
	t.Helper()
	whole, err := c.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if got := versionLines(whole); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("versions:\n got %q\nwant %q", got, want)
	}
	var paged []string
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1)}
	for range 2 * len(want) {
		page, err := c.ListObjectVersions(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, versionLines(page)...)
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("versions a page at a time:\n got %q\nwant %q", paged, want)
	}
}

// versionLines describes a listing's versions, then its delete markers,
// as checkVersions' want does.
func versionLines(out *s3.ListObjectVersionsOutput) []string {
	var lines []string
	add := func(key, id string, latest, marker bool) {
		text := key
		if key == "doc" || key == "k" {
			text += " " + id
		}
		if latest {
			text += " latest"
		}
		if marker {
			text += " marker"
		}
		lines = append(lines, text)
	}
	for _, v := range out.Versions {
		add(aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToBool(v.IsLatest), false)
	}
	for _, m := range out.DeleteMarkers {
		add(aws.ToString(m.Key), aws.ToString(m.VersionId), aws.ToBool(m.IsLatest), true)
	}
	return lines
}

// A node that ran alone with a versioned bucket becomes a cluster's first
// node: the bucket's state is published with it, its versions read back
// by id through a node that joined (which holds none of them), and new
// versions go on from there.
func TestClusterVersioningFromSingleNode(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	alone := apptest.Start(t, apptest.Options{DataDir: dir})
	s := alone.S3("", "")
	if _, err := s.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("kept"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range []string{"alone one", "alone two"} {
		out, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("kept"), Key: aws.String("k"), Body: strings.NewReader(b)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.VersionId))
	}
	alone.Stop()

	const secret = "test-cluster-secret-0123456789"
	n0 := apptest.Start(t, apptest.Options{DataDir: dir, Configure: func(cfg *app.Config) {
		cfg.Cluster = app.ClusterConfig{Zone: "a", Replicas: 2, Secret: secret, Name: "node0", RepairEvery: time.Second}
	}})
	n1 := apptest.Start(t, apptest.Options{Configure: func(cfg *app.Config) {
		cfg.Cluster = app.ClusterConfig{Zone: "b", Replicas: 2, Secret: secret, Name: "node1", RepairEvery: time.Second, Join: n0.Endpoint()}
	}})
	s = n1.S3("", "")
	waitVersioning(t, []*s3.Client{n0.S3("", ""), s}, "kept", types.BucketVersioningStatusEnabled)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("kept"), Key: aws.String("k"), VersionId: aws.String(ids[0])})
		if err == nil {
			b, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if string(b) != "alone one" {
				t.Fatalf("the first version through node1: %q", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first version through node1: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("kept"), Key: aws.String("k"), Body: strings.NewReader("clustered")})
	if err != nil {
		t.Fatal(err)
	}
	if got := getVersion(t, n0.S3("", ""), "kept", "k", aws.ToString(out.VersionId)); string(got) != "clustered" {
		t.Fatalf("the new version through node0: %q", got)
	}
	vs, err := s.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs.Versions {
		got = append(got, fmt.Sprintf("%s %v", aws.ToString(v.VersionId), aws.ToBool(v.IsLatest)))
	}
	if want := []string{aws.ToString(out.VersionId) + " true", ids[1] + " false", ids[0] + " false"}; !slices.Equal(got, want) {
		t.Fatalf("versions through node1: %q, want %q", got, want)
	}
}

// Suspended versioning in a three-node cluster: writes through any node
// are the null version, each replacing the last one everywhere (every
// node's own copy is the newest), a delete makes a null delete marker,
// the versions written while Enabled stay, and once Enabled again new
// versions go on top; removing the null version by id removes it. An
// object written before versioning, expired by lifecycle once it is
// Enabled, gets a delete marker in front and stays as the null version.
// Lifecycle's version expirations remove versions on every node.
func TestClusterVersioningSuspended(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c"}, Replicas: 3})
	ctx := context.Background()
	s := []*s3.Client{cl.Nodes[0].S3("", ""), cl.Nodes[1].S3("", ""), cl.Nodes[2].S3("", "")}
	const bucket = "susp"
	if _, err := s[0].CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	set := func(st types.BucketVersioningStatus) {
		t.Helper()
		if _, err := s[1].PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
			VersioningConfiguration: &types.VersioningConfiguration{Status: st}}); err != nil {
			t.Fatal(err)
		}
		waitVersioning(t, s, bucket, st)
	}
	put := func(n int, body string) string {
		t.Helper()
		out, err := s[n].PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.VersionId)
	}
	putObj(t, s[0], bucket, "pre", []byte("written before versioning"))
	set(types.BucketVersioningStatusEnabled)
	// Lifecycle's expiration of the latest version puts a delete marker in
	// front of it, even of an object written before versioning.
	eng := cl.Nodes[0].EngineForTest()
	seen, err := eng.HeadObject(ctx, bucket, "pre")
	if err != nil || seen.VersionID != store.NullVersionID {
		t.Fatalf("HEAD of an object written before versioning: version %q, %v", seen.VersionID, err)
	}
	if ok, err := eng.(store.Expirer).ExpireObject(ctx, bucket, "pre", seen); !ok || err != nil {
		t.Fatalf("expire: %v, %v", ok, err)
	}
	if _, err := getObj(s[1], bucket, "pre"); !isNoSuchKey(err) {
		t.Fatalf("the expired object through node1: %v", err)
	}
	if got := getVersion(t, s[2], bucket, "pre", store.NullVersionID); string(got) != "written before versioning" {
		t.Fatalf("the expired object as its null version: %q", got)
	}
	pre := []string{"pre latest marker", "pre"}
	v1 := put(0, "enabled one")
	set(types.BucketVersioningStatusSuspended)
	for i, body := range []string{"null through node2", "null through node0"} {
		if id := put(2*(1-i), body); id != store.NullVersionID {
			t.Fatalf("PUT while Suspended answered version %q", id)
		}
	}
	waitRepaired(t, cl, time.Now())
	for n := range cl.Nodes {
		l := cl.Nodes[n].LocalForTest().(store.Versioned)
		if info, err := l.HeadObjectVersion(ctx, bucket, "k", store.NullVersionID); err != nil || info.Size != int64(len("null through node0")) {
			t.Fatalf("node%d's own null version: %d bytes, %v", n, info.Size, err)
		}
	}
	if got := getVersion(t, s[1], bucket, "k", store.NullVersionID); string(got) != "null through node0" {
		t.Fatalf("the null version through node1: %q", got)
	}
	if got, err := getObj(s[2], bucket, "k"); err != nil || string(got) != "null through node0" {
		t.Fatalf("the latest through node2: %q, %v", got, err)
	}
	for n := range s {
		checkVersions(t, s[n], bucket, append([]string{"k null latest", "k " + v1}, pre...))
	}
	del, err := s[1].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != store.NullVersionID {
		t.Fatalf("DELETE while Suspended: %+v, %v", del, err)
	}
	checkVersions(t, s[0], bucket, append([]string{"k null latest marker", "k " + v1}, pre...))
	set(types.BucketVersioningStatusEnabled)
	v3 := put(2, "enabled again")
	checkVersions(t, s[1], bucket, append([]string{"k " + v3 + " latest", "k null marker", "k " + v1}, pre...))
	if _, err := s[0].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), VersionId: aws.String(store.NullVersionID)}); err != nil {
		t.Fatal(err)
	}
	checkVersions(t, s[2], bucket, append([]string{"k " + v3 + " latest", "k " + v1}, pre...))

	// Lifecycle's version expirations run on every node: a noncurrent
	// version goes, the latest stays; a delete marker goes only once no
	// version is left behind it.
	x := eng.(store.VersionExpirer)
	expire := func(f func(context.Context, string, string, string) (bool, error), id string, want bool) {
		t.Helper()
		if ok, err := f(ctx, bucket, "k", id); ok != want || err != nil {
			t.Fatalf("expire %s: %v, %v; want %v", id, ok, err, want)
		}
	}
	expire(x.ExpireNoncurrent, v1, true)
	expire(x.ExpireNoncurrent, v3, false)
	for n := range cl.Nodes {
		l := cl.Nodes[n].LocalForTest().(store.Versioned)
		if _, err := l.HeadObjectVersion(ctx, bucket, "k", v1); !errors.Is(err, store.ErrNoSuchVersion) {
			t.Fatalf("node%d still holds the expired version: %v", n, err)
		}
	}
	del, err = s[0].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	marker := aws.ToString(del.VersionId)
	expire(x.ExpireDeleteMarker, marker, false) // v3 is behind it
	if _, err := s[1].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), VersionId: aws.String(v3)}); err != nil {
		t.Fatal(err)
	}
	expire(x.ExpireDeleteMarker, marker, true)
	checkVersions(t, s[1], bucket, pre)
}
