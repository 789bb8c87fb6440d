package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// With no timed passes (RepairFullEvery an hour), repair follows events:
// an idle cluster runs no pass; a node lost is repaired around; a node
// that comes back catches up and the objects move back to their
// placement.
func TestClusterRepairOnEvents(t *testing.T) {
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b", "c", "d"}, Replicas: 2, RepairFullEvery: time.Hour})
	ctx := context.Background()
	s0 := cl.Nodes[0].S3("", "")
	if _, err := s0.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("evt")}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i := range 60 {
		k := fmt.Sprintf("e/%02d", i)
		want[k] = body(i, 0)
		putObj(t, s0, "evt", k, want[k])
	}
	// idle: once settled, the pass counts stand still
	cl.Wait(time.Minute, "settled", func(st *client.ClusterStatus) bool { return st.UnderReplicated == 0 })
	time.Sleep(4 * time.Second)
	before := passesOf(cl.Status(0))
	time.Sleep(5 * time.Second)
	if after := passesOf(cl.Status(0)); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("an idle cluster ran repair passes: %v -> %v", before, after)
	}

	cl.Nodes[3].Stop()
	cl.Wait(time.Minute, "node3 down", func(st *client.ClusterStatus) bool { return stateOf(st, "node3") == "down" })
	waitPassedAfter(t, cl, before)
	checkSpread(t, cl, 0, "evt", want, 2)
	s1 := cl.Nodes[1].S3("", "")
	for i := 40; i < 80; i++ { // overwrite some, add some while node3 is away
		k := fmt.Sprintf("e/%02d", i)
		want[k] = body(i, 1)
		putObj(t, s1, "evt", k, want[k])
	}

	down := passesOf(cl.Status(0))
	cl.Restart(3)
	cl.WaitUp(4)
	waitPassedAfter(t, cl, down)
	checkSpread(t, cl, 0, "evt", want, 2)
	checkAll(t, cl.Nodes[3].S3("", ""), "evt", want)
	holds3 := 0
	for k := range want {
		names, err := cl.API(0).Replicas(ctx, "evt", k)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if n == "node3" {
				holds3++
			}
		}
	}
	if holds3 == 0 {
		t.Fatal("node3 holds nothing after it came back: the objects did not move back to their placement")
	}
}

// passesOf maps each node to its repair passes so far.
func passesOf(st *client.ClusterStatus) map[string]int64 {
	m := map[string]int64{}
	for _, n := range st.Nodes {
		m[n.Name] = n.Repair.Passes
	}
	return m
}

// waitPassedAfter waits until every up node ran a pass since base and
// nothing is under-replicated.
func waitPassedAfter(t *testing.T, cl *apptest.Cluster, base map[string]int64) {
	t.Helper()
	cl.Wait(2*time.Minute, "a pass on every up node, under_replicated 0", func(st *client.ClusterStatus) bool {
		for _, n := range st.Nodes {
			if n.State == "up" && n.Repair.Passes <= base[n.Name] {
				return false
			}
		}
		return st.UnderReplicated == 0
	})
}
