package instances_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/instances"
)

// TestClusterPlacementAndForwarding: on three nodes in three zones (three
// etcd voters, so losing one keeps a quorum), an
// instance asked for in a zone runs on that zone's node; every node
// describes it; stop, start, reboot and console through the other node
// reach it; when its node dies it keeps its last state with a reason and
// its status is impaired.
func TestClusterPlacementAndForwarding(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-node cluster")
	}
	ctx := context.Background()
	hv := instances.NewFakeHypervisor() // one per machine; directories tell the nodes apart
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"z1", "z2", "z3"}, Configure: func(_ int, c *app.Config) {
		c.Instances.Hypervisor = hv
		c.Instances.Images = instances.FakeImages{Images: map[string]string{testImage: ""}}
	}})
	n0, n1 := cl.Nodes[0], cl.Nodes[1]
	c0, c1 := ec2Client(n0, n0.AccessKey, n0.SecretKey), ec2Client(n1, n1.AccessKey, n1.SecretKey)
	in := runInput()
	in.Placement = &types.Placement{AvailabilityZone: aws.String("z2")}
	run := must[*ec2.RunInstancesOutput](t)(c0.RunInstances(ctx, in))
	id := aws.ToString(run.Instances[0].InstanceId)
	if z := aws.ToString(run.Instances[0].Placement.AvailabilityZone); z != "z2" {
		t.Fatalf("placed in %s", z)
	}
	waitState(ctx, t, c0, id, types.InstanceStateNameRunning)
	m := hv.Machine(id)
	if m == nil || !strings.HasPrefix(m.Spec.Dir, n1.DataDir) {
		t.Fatalf("machine not on node1: %+v", m)
	}
	if got := describe(ctx, t, c1, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}); len(got) != 1 || got[0].State.Name != types.InstanceStateNameRunning {
		t.Fatalf("through node1: %+v", got)
	}
	// Actions through node0 reach node1's machine.
	must[*ec2.RebootInstancesOutput](t)(c0.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{id}}))
	if m.Resets() != 1 {
		t.Fatalf("resets %d", m.Resets())
	}
	con := must[*ec2.GetConsoleOutputOutput](t)(c0.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: &id}))
	if out, _ := base64.StdEncoding.DecodeString(aws.ToString(con.Output)); string(out) != "booted "+id+"\n" {
		t.Fatalf("console through node0: %q", out)
	}
	must[*ec2.StopInstancesOutput](t)(c0.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}))
	waitState(ctx, t, c0, id, types.InstanceStateNameStopped)
	if !m.Exited() {
		t.Fatal("stopped, yet its machine runs")
	}
	must[*ec2.StartInstancesOutput](t)(c0.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}))
	waitState(ctx, t, c0, id, types.InstanceStateNameRunning)
	if m2 := hv.Machine(id); m2 == m || m2.Spec.Dir != m.Spec.Dir {
		t.Fatal("started again elsewhere")
	}
	// A zone with no node is refused.
	in.Placement = &types.Placement{AvailabilityZone: aws.String("z9")}
	_, err := c0.RunInstances(ctx, in)
	wantCode(t, err, "InvalidParameterValue")

	// Node1 dies: its instance is reported as lost, not as gone.
	n1.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := must[*ec2.DescribeInstanceStatusOutput](t)(c0.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}}))
		if len(st.InstanceStatuses) == 1 && st.InstanceStatuses[0].SystemStatus.Status == types.SummaryStatusImpaired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after node loss: %+v", st.InstanceStatuses)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := describe(ctx, t, c0, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if got[0].State.Name != types.InstanceStateNameRunning || got[0].StateReason == nil ||
		!strings.Contains(aws.ToString(got[0].StateReason.Message), "node1") {
		t.Fatalf("lost instance: %+v %+v", got[0].State, got[0].StateReason)
	}
	hv.Machine(id).Exit() // the machine outlived its node; end it with the test
}
