package app_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/meta/etcdtest"
)

// With --etcd the nodes run no etcd member of their own: they share the
// given etcd, and with it accounts, buckets and objects.
func TestClusterExternalEtcd(t *testing.T) {
	etcdURL := etcdtest.Start(t)
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b"}, Replicas: 2,
		Configure: func(i int, cfg *app.Config) { cfg.Cluster.Etcd, cfg.Cluster.Join = []string{etcdURL}, "" }})
	ctx := context.Background()
	if _, err := cl.Nodes[0].S3("", "").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ext")}); err != nil {
		t.Fatal(err)
	}
	putObj(t, cl.Nodes[1].S3("", ""), "ext", "k", []byte("through an existing etcd"))
	if got, err := getObj(cl.Nodes[0].S3("", ""), "ext", "k"); err != nil || string(got) != "through an existing etcd" {
		t.Fatalf("get: %q %v", got, err)
	}
	st := cl.Status(1)
	if len(st.Etcd) != 1 || st.Etcd[0].Name != "default" {
		t.Fatalf("etcd members: %+v, want only the external one", st.Etcd)
	}
}
