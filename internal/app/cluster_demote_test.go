package app_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// TestClusterVoterRemovedWhileRunning: a running node whose etcd member
// the cluster removes (as the autopilot does to a voter that was cut off
// long enough) goes on as an etcd client: it stays up past its lease and
// still serves reads and writes.
func TestClusterVoterRemovedWhileRunning(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c"}, Replicas: 2})
	ctx := context.Background()
	st := cl.Status(0)
	var endpoint string
	var id uint64
	for _, m := range st.Etcd {
		if m.Name == "node0" && len(m.ClientURLs) > 0 {
			endpoint = m.ClientURLs[0]
		}
		if m.Name == "node2" {
			id, _ = strconv.ParseUint(m.ID, 16, 64)
		}
	}
	if endpoint == "" || id == 0 {
		t.Fatalf("etcd members: %+v", st.Etcd)
	}
	ec, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	// etcd refuses a removal until every member has been connected a while.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := ec.MemberRemove(rctx, id)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("remove node2's member: %v", err)
		}
	}
	cl.Wait(30*time.Second, "node2's member gone", func(st *client.ClusterStatus) bool {
		for _, m := range st.Etcd {
			if m.Name == "node2" {
				return false
			}
		}
		return true
	})
	// Past the lease (5 s) node2 must still heartbeat, now through the
	// other members.
	time.Sleep(8 * time.Second)
	cl.Wait(10*time.Second, "node2 up as an etcd client", func(st *client.ClusterStatus) bool {
		return stateOf(st, "node2") == "up"
	})
	s2, s0 := cl.Nodes[2].S3("", ""), cl.Nodes[0].S3("", "")
	if _, err := s2.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("afterdemote")}); err != nil {
		t.Fatalf("create a bucket through node2: %v", err)
	}
	putObj(t, s2, "afterdemote", "k", []byte("written through a demoted node"))
	checkAll(t, s0, "afterdemote", map[string][]byte{"k": []byte("written through a demoted node")})
}
