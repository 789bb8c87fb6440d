package app_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// startEtcd runs a one-member etcd in the test process, standing for an
// existing etcd cluster, and returns its client URL.
func startEtcd(t *testing.T) string {
	t.Helper()
	free := func() url.URL {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return url.URL{Scheme: "http", Host: ln.Addr().String()}
	}
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	peer, client := free(), free()
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.InitialCluster = fmt.Sprintf("%s=%s", cfg.Name, peer.String())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(time.Minute):
		t.Fatal("etcd did not start")
	}
	return client.String()
}

// With --etcd the nodes run no etcd member of their own: they share the
// given etcd, and with it accounts, buckets and objects.
func TestClusterExternalEtcd(t *testing.T) {
	etcdURL := startEtcd(t)
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
