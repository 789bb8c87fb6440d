package app_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// With one copy per object, an object written through node 0 reads back
// at once through every node (S3's read-after-write), even through a
// node whose view (re-read every second) does not yet show the node that
// just joined and took the copy: node 2 joins, node 0 sees it and writes
// to it, node 1 reads right away. Many keys, so copies land on each node.
func TestClusterReadAfterWriteOneReplica(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b"}, Replicas: 1})
	ctx := context.Background()
	s0 := cl.Nodes[0].S3("", "")
	if _, err := s0.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("raw")}); err != nil {
		t.Fatal(err)
	}
	cl.Nodes = append(cl.Nodes, apptest.Start(t, apptest.Options{Configure: func(cfg *app.Config) {
		cfg.Cluster = app.ClusterConfig{Zone: "c", Replicas: 1, Secret: cl.Secret, Name: "node2", Join: cl.Nodes[0].Endpoint()}
	}}))
	cl.Status(0) // node 0 re-reads its view now: it writes to node 2 at once
	s := []*s3.Client{s0, cl.Nodes[1].S3("", ""), cl.Nodes[2].S3("", "")}
	for i := range 60 {
		k := fmt.Sprintf("k/%02d", i)
		putObj(t, s[0], "raw", k, body(i, 0))
		for n := 1; n < 3; n++ {
			got, err := getObj(s[n], "raw", k)
			if err != nil || !bytes.Equal(got, body(i, 0)) {
				t.Fatalf("get %s through node%d right after its PUT: %d bytes, %v", k, n, len(got), err)
			}
		}
	}
	if on := heldBy(t, cl, 2, "raw", 60); on["node2"] == 0 {
		t.Fatalf("no key went to the node that joined (copies by node: %v): the test proves nothing", on)
	}
}

// heldBy counts the keys k/00..k/NN of bucket each node holds, asking
// node i.
func heldBy(t *testing.T, cl *apptest.Cluster, i int, bucket string, keys int) map[string]int {
	t.Helper()
	on := map[string]int{}
	for j := range keys {
		names, err := cl.API(i).Replicas(context.Background(), bucket, fmt.Sprintf("k/%02d", j))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			on[n]++
		}
	}
	return on
}
