package instances_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// TestRealMachineCluster boots the tiny image under QEMU on a two-node
// cluster: asked for zone b through node0, the machine runs on node1 (its
// QEMU is under node1's data directory); node1 describes it; the console
// read and the ingress rule go through the other node; terminate through
// node0 ends node1's QEMU.
func TestRealMachineCluster(t *testing.T) {
	testtool.NeedQEMU(t)
	ctx := context.Background()
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"a", "b"},
		Configure: func(_ int, c *app.Config) { c.Instances.Accel = "tcg" }})
	n0, n1 := cl.Nodes[0], cl.Nodes[1]
	c0, c1 := ec2Client(n0, n0.AccessKey, n0.SecretKey), ec2Client(n1, n1.AccessKey, n1.SecretKey)
	ami := registerTiny(ctx, t, n0, c0)
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c0.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("web"), Description: aws.String("web")})).GroupId
	in := runInput()
	in.ImageId, in.SecurityGroupIds = &ami, []string{*sg}
	in.Placement = &types.Placement{AvailabilityZone: aws.String("b")}
	run := must[*ec2.RunInstancesOutput](t)(c0.RunInstances(ctx, in))
	id, ip := aws.ToString(run.Instances[0].InstanceId), aws.ToString(run.Instances[0].PublicIpAddress)
	t.Cleanup(func() { // no machine outlives the test, whatever failed
		_, _ = c0.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		for _, n := range cl.Nodes {
			_ = exec.Command("pkill", "-KILL", "-f", "qemu-system-x86_64.*"+n.DataDir).Run()
		}
	})

	got := waitState(ctx, t, c1, id, types.InstanceStateNameRunning)
	if z := aws.ToString(got.Placement.AvailabilityZone); z != "b" {
		t.Fatalf("node1 describes it in zone %q, want b", z)
	}
	if !qemuUnder(n1.DataDir) || qemuUnder(n0.DataDir) {
		t.Fatalf("the machine is not (only) on node1: node0 %v, node1 %v", qemuUnder(n0.DataDir), qemuUnder(n1.DataDir))
	}
	waitConsole(ctx, t, c0, id, "insitu-tiny: ready", 0)
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c0.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: sg, IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), CidrIp: aws.String("0.0.0.0/0")}))
	waitFor(t, "the page through a rule set on node0", func() bool { body, err := page(ip); return err == nil && strings.Contains(body, id) })

	must[*ec2.TerminateInstancesOutput](t)(c0.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}))
	waitState(ctx, t, c1, id, types.InstanceStateNameTerminated)
	waitFor(t, "node1's QEMU to end", func() bool { return !qemuUnder(n1.DataDir) })
}

// qemuUnder reports whether a QEMU runs with dir in its command line.
func qemuUnder(dir string) bool {
	return exec.Command("pgrep", "-f", "qemu-system-x86_64.*"+dir).Run() == nil
}
