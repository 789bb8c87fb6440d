package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// body is the deterministic content of object i, version v.
func body(i, v int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("object %d version %d;", i, v)), 1+i%50)
}

func putObj(t *testing.T, c *s3.Client, bucket, key string, b []byte) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(b)}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func getObj(c *s3.Client, bucket, key string) ([]byte, error) {
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// checkAll reads every object of want through c, byte for byte.
func checkAll(t *testing.T, c *s3.Client, bucket string, want map[string][]byte) {
	t.Helper()
	for k, b := range want {
		got, err := getObj(c, bucket, k)
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("get %s: %d bytes, want %d (%q...)", k, len(got), len(b), got[:min(len(got), 30)])
		}
	}
}

// Four nodes in zones a, b, c, c with 2 replicas: objects written through
// one node read back through the others, each held in two zones; a node
// stops, writes go on, repair restores two copies; a second node stops
// and every acknowledged object still reads back.
func TestClusterReplicatesAndRepairs(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c", "c"}, Replicas: 2})
	ctx := context.Background()
	s0 := cl.Nodes[0].S3("", "")
	if _, err := s0.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i := range 120 {
		k := fmt.Sprintf("k/%03d", i)
		want[k] = body(i, 0)
		putObj(t, s0, "data", k, want[k])
	}
	for i := 1; i < 4; i++ {
		checkAll(t, cl.Nodes[i].S3("", ""), "data", want)
	}
	checkSpread(t, cl, 1, "data", want, 2)
	checkList(t, cl.Nodes[2].S3("", ""), "data", want)

	cl.Nodes[3].Stop()
	cl.Wait(time.Minute, "node3 down", func(st *client.ClusterStatus) bool { return stateOf(st, "node3") == "down" })
	s1 := cl.Nodes[1].S3("", "")
	for i := 100; i < 160; i++ { // overwrite some, add some
		k := fmt.Sprintf("k/%03d", i)
		want[k] = body(i, 1)
		putObj(t, s1, "data", k, want[k])
	}
	checkAll(t, cl.Nodes[0].S3("", ""), "data", want)
	waitRepaired(t, cl, time.Now())
	checkSpread(t, cl, 0, "data", want, 2)

	cl.Nodes[2].Stop()
	cl.Wait(time.Minute, "node2 down", func(st *client.ClusterStatus) bool { return stateOf(st, "node2") == "down" })
	checkAll(t, cl.Nodes[0].S3("", ""), "data", want)
	checkAll(t, cl.Nodes[1].S3("", ""), "data", want)
	checkList(t, cl.Nodes[1].S3("", ""), "data", want)
}

func stateOf(st *client.ClusterStatus, name string) string {
	for _, n := range st.Nodes {
		if n.Name == name {
			return n.State
		}
	}
	return ""
}

// waitRepaired waits for every up node to finish a repair pass started
// after since, with nothing left under-replicated.
func waitRepaired(t *testing.T, cl *apptest.Cluster, since time.Time) {
	t.Helper()
	cl.Wait(2*time.Minute, "under_replicated 0 after a full pass", func(st *client.ClusterStatus) bool {
		for _, n := range st.Nodes {
			if n.State == "up" && n.Repair.LastPass.Before(since.Add(3*time.Second)) {
				return false
			}
		}
		return st.UnderReplicated == 0
	})
}

// checkSpread asks node i where each object is and checks it has copies
// copies on distinct nodes in distinct zones (when there are enough).
func checkSpread(t *testing.T, cl *apptest.Cluster, i int, bucket string, want map[string][]byte, copies int) {
	t.Helper()
	zones := map[string]string{}
	for _, n := range cl.Status(i).Nodes {
		zones[n.Name] = n.Zone
	}
	api := cl.API(i)
	for k := range want {
		names, err := api.Replicas(context.Background(), bucket, k)
		if err != nil {
			t.Fatalf("replicas of %s: %v", k, err)
		}
		zs := map[string]bool{}
		for _, n := range names {
			zs[zones[n]] = true
		}
		if len(names) != copies || len(zs) != copies {
			t.Fatalf("%s is held by %v (zones %v), want %d copies in distinct zones", k, names, zs, copies)
		}
	}
}

// checkList lists the bucket in small pages and compares with want.
func checkList(t *testing.T, c *s3.Client, bucket string, want map[string][]byte) {
	t.Helper()
	var got []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, MaxKeys: aws.Int32(37)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			got = append(got, *o.Key)
			if *o.Size != int64(len(want[*o.Key])) {
				t.Fatalf("list: %s size %d, want %d", *o.Key, *o.Size, len(want[*o.Key]))
			}
		}
	}
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Fatalf("list: %d keys, want %d", len(got), len(keys))
	}
}

// Deletes, multipart uploads and copies work through any node, and a
// delete wins over the older write everywhere.
func TestClusterDeleteMultipartCopy(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c"}, Replicas: 2})
	ctx := context.Background()
	s0, s1, s2 := cl.Nodes[0].S3("", ""), cl.Nodes[1].S3("", ""), cl.Nodes[2].S3("", "")
	if _, err := s1.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("mpu")}); err != nil {
		t.Fatal(err)
	}
	putObj(t, s0, "mpu", "gone", []byte("soon deleted"))
	if _, err := s2.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("mpu"), Key: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*s3.Client{s0, s1, s2} {
		if _, err := getObj(c, "mpu", "gone"); !isNoSuchKey(err) {
			t.Fatalf("deleted object: %v", err)
		}
	}
	// multipart: created on node 0, parts through 1 and 2, completed on 1
	up, err := s0.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := bytes.Repeat([]byte("1"), 5<<20), []byte("tail")
	var parts []types.CompletedPart
	for i, c := range []*s3.Client{s1, s2} {
		b := [][]byte{p1, p2}[i]
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpu"), Key: aws.String("big"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(b)})
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	lu, err := s2.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("mpu")})
	if err != nil || len(lu.Uploads) != 1 || *lu.Uploads[0].UploadId != *up.UploadId {
		t.Fatalf("list uploads through another node: %v %+v", err, lu)
	}
	done, err := s1.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpu"), Key: aws.String("big"),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	whole := append(append([]byte{}, p1...), p2...)
	for _, c := range []*s3.Client{s0, s1, s2} {
		if got, err := getObj(c, "mpu", "big"); err != nil || !bytes.Equal(got, whole) {
			t.Fatalf("multipart object: %v (%d bytes)", err, len(got))
		}
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big")})
		if err != nil || *h.ETag != *done.ETag {
			t.Fatalf("multipart ETag: %v %v want %v", err, h.ETag, *done.ETag)
		}
	}
	checkSpread(t, cl, 2, "mpu", map[string][]byte{"big": nil}, 2)
	if _, err := s2.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("mpu"), Key: aws.String("copy"), CopySource: aws.String("mpu/big")}); err != nil {
		t.Fatal(err)
	}
	if got, err := getObj(s0, "mpu", "copy"); err != nil || !bytes.Equal(got, whole) {
		t.Fatalf("copy: %v", err)
	}
	// a bucket with objects cannot go; emptied, it goes everywhere
	if _, err := s0.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("mpu")}); err == nil {
		t.Fatal("deleted a bucket holding objects")
	}
	for _, k := range []string{"big", "copy"} {
		if _, err := s1.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("mpu"), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s0.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("mpu")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("mpu")}); err == nil {
		t.Fatal("bucket still there through another node")
	}
}

func isNoSuchKey(err error) bool {
	var nk *types.NoSuchKey
	return errors.As(err, &nk)
}

// A node that dies (its listener gone, its lease not yet expired) must
// not fail the writes placed on it: the first refused connection takes
// it out of placement, so the next attempt goes to live nodes.
func TestClusterWritesRightAfterANodeDies(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c", "c"}, Replicas: 2})
	s0 := cl.Nodes[0].S3("", "")
	if _, err := s0.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("wdie")}); err != nil {
		t.Fatal(err)
	}
	cl.Nodes[3].Stop()
	want := map[string][]byte{}
	for i := range 40 {
		k := fmt.Sprintf("k/%03d", i)
		want[k] = body(i, 0)
		putObj(t, s0, "wdie", k, want[k])
	}
	checkAll(t, cl.Nodes[1].S3("", ""), "wdie", want)
}
