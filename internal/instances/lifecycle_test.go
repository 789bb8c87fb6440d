package instances_test

import (
	"context"
	"encoding/base64"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/insitu-cloud/insitu/internal/instances"
)

// ports lists the host ports a fake machine forwards, checking each
// comes from the instance's own address.
func ports(t *testing.T, m *instances.FakeMachine, ip string) []int {
	t.Helper()
	var out []int
	for _, f := range m.Forwards() {
		if f.HostIP != ip || f.HostPort != f.GuestPort {
			t.Fatalf("forward %+v, want from %s", f, ip)
		}
		out = append(out, f.HostPort)
	}
	return out
}

func samePorts(a []int, b ...int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRunDescribeStopStartTerminate drives one instance's whole life
// through aws-sdk-go-v2's ec2 client: run with a key, a group, user data,
// tags and a zone; running; forwards that follow the group's rules;
// console; reboot; stop and start on the same directory; terminate.
func TestRunDescribeStopStartTerminate(t *testing.T) {
	ctx := context.Background()
	e := start(t, "", instances.NewFakeHypervisor(), 0)
	c := e.ec2
	must[*ec2.CreateKeyPairOutput](t)(c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k1")}))
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("web"), Description: aws.String("web")})).GroupId
	allowFrom := func(port int32, cidr string, on bool) {
		perm := []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
			IpRanges: []types.IpRange{{CidrIp: aws.String(cidr)}}}}
		var err error
		if on {
			_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg, IpPermissions: perm})
		} else {
			_, err = c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: sg, IpPermissions: perm})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	allow := func(port int32, on bool) { allowFrom(port, "0.0.0.0/0", on) }
	allow(80, true)
	zone := e.node.Region + "a"
	run := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(testImage), InstanceType: types.InstanceTypeT3Nano, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		KeyName: aws.String("k1"), SecurityGroupIds: []string{*sg}, UserData: b64("#!/bin/sh\necho hi\n"),
		Placement: &types.Placement{AvailabilityZone: aws.String(zone)},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance,
			Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("web-1")}}}}}))
	if !strings.HasPrefix(aws.ToString(run.ReservationId), "r-") || len(run.Instances) != 1 || aws.ToString(run.OwnerId) != "root" {
		t.Fatalf("run: %+v", run)
	}
	in := run.Instances[0]
	id, ip := aws.ToString(in.InstanceId), aws.ToString(in.PublicIpAddress)
	if in.State.Name != types.InstanceStateNamePending || aws.ToInt32(in.State.Code) != 0 || len(id) != 19 {
		t.Fatalf("run state: %s %+v", id, in.State)
	}
	if a, err := netip.ParseAddr(ip); err != nil || !instances.DefaultNet.Contains(a) || aws.ToString(in.PrivateIpAddress) != ip {
		t.Fatalf("address %q (private %q)", ip, aws.ToString(in.PrivateIpAddress))
	}
	if len(in.Tags) != 1 || aws.ToString(in.Tags[0].Value) != "web-1" || aws.ToString(in.Placement.AvailabilityZone) != zone {
		t.Fatalf("tags/zone: %+v %+v", in.Tags, in.Placement)
	}
	got := waitState(ctx, t, c, id, types.InstanceStateNameRunning)
	if aws.ToString(got.KeyName) != "k1" || got.InstanceType != types.InstanceTypeT3Nano || aws.ToString(got.ImageId) != testImage ||
		len(got.SecurityGroups) != 1 || aws.ToString(got.SecurityGroups[0].GroupId) != *sg {
		t.Fatalf("described: %+v", got)
	}
	m := e.hv.Machine(id)
	if m == nil || m.Spec.MemoryMiB != 512 || m.Spec.VCPUs != 2 || m.Spec.Accel != "tcg" ||
		len(m.Spec.MetadataCmd) != 3 || m.Spec.MetadataCmd[1] != "imds-relay" || filepath.Base(m.Spec.MetadataCmd[2]) != "imds.sock" {
		t.Fatalf("machine spec: %+v", m)
	}
	if p := ports(t, m, ip); !samePorts(p, 80) {
		t.Fatalf("forwards at start: %v", p)
	}

	// Rules changed on a running instance reach its forwards.
	allow(22, true)
	waitFor(t, "port 22 forwarded", func() bool { return samePorts(ports(t, m, ip), 22, 80) })
	allow(80, false)
	waitFor(t, "port 80 no longer forwarded", func() bool { return samePorts(ports(t, m, ip), 22) })
	// Only loopback callers reach an instance: a rule for other sources
	// opens nothing, one for a loopback source opens the port. Both are
	// authorized before either can be applied, so 8080 appearing without
	// 443 shows the first was refused, not late.
	allowFrom(443, "203.0.113.0/24", true)
	allowFrom(8080, "127.0.0.1/32", true)
	waitFor(t, "port 8080 forwarded", func() bool { return slices.Contains(ports(t, m, ip), 8080) })
	if p := ports(t, m, ip); !samePorts(p, 22, 8080) {
		t.Fatalf("forwards with a rule for 203.0.113.0/24 on 443: %v", p)
	}
	allowFrom(8080, "127.0.0.1/32", false)
	allowFrom(443, "203.0.113.0/24", false)
	waitFor(t, "port 8080 no longer forwarded", func() bool { return samePorts(ports(t, m, ip), 22) })

	// The console, read from the instance's directory.
	con := must[*ec2.GetConsoleOutputOutput](t)(c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: &id}))
	if out, _ := base64.StdEncoding.DecodeString(aws.ToString(con.Output)); string(out) != "booted "+id+"\n" || con.Timestamp == nil {
		t.Fatalf("console %q", aws.ToString(con.Output))
	}
	must[*ec2.RebootInstancesOutput](t)(c.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{id}}))
	if m.Resets() != 1 {
		t.Fatalf("resets %d", m.Resets())
	}

	// Stop keeps the directory and the address; start boots it again.
	stop := must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}))
	if ch := stop.StoppingInstances[0]; ch.PreviousState.Name != types.InstanceStateNameRunning || ch.CurrentState.Name != types.InstanceStateNameStopping {
		t.Fatalf("stop: %+v %+v", ch.PreviousState, ch.CurrentState)
	}
	st := waitState(ctx, t, c, id, types.InstanceStateNameStopped)
	if m.EndedBy() != "powerdown" || aws.ToString(st.PublicIpAddress) != ip || st.StateReason == nil ||
		aws.ToString(st.StateReason.Code) != "Client.UserInitiatedShutdown" {
		t.Fatalf("stopped: by %q %+v", m.EndedBy(), st)
	}
	dir := filepath.Dir(m.Spec.MetadataCmd[2])
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("directory gone after stop: %v", err)
	}
	again := must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}))
	if again.StoppingInstances[0].CurrentState.Name != types.InstanceStateNameStopped {
		t.Fatalf("stop of a stopped one: %+v", again.StoppingInstances[0].CurrentState)
	}
	sta := must[*ec2.StartInstancesOutput](t)(c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}))
	if ch := sta.StartingInstances[0]; ch.PreviousState.Name != types.InstanceStateNameStopped || ch.CurrentState.Name != types.InstanceStateNamePending {
		t.Fatalf("start: %+v %+v", ch.PreviousState, ch.CurrentState)
	}
	waitState(ctx, t, c, id, types.InstanceStateNameRunning)
	m2 := e.hv.Machine(id)
	if m2 == m || m2.Spec.Dir != m.Spec.Dir || e.hv.Starts() != 2 {
		t.Fatalf("restarted machine: %v dir %s starts %d", m2 == m, m2.Spec.Dir, e.hv.Starts())
	}
	// Running again: StartInstances answers its state.
	sta = must[*ec2.StartInstancesOutput](t)(c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}))
	if sta.StartingInstances[0].CurrentState.Name != types.InstanceStateNameRunning {
		t.Fatalf("start of a running one: %+v", sta.StartingInstances[0].CurrentState)
	}

	// A forced stop kills at once; start again.
	must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}, Force: aws.Bool(true)}))
	waitState(ctx, t, c, id, types.InstanceStateNameStopped)
	if by := m2.EndedBy(); by != "kill" {
		t.Fatalf("forced stop ended the machine by %q", by)
	}
	must[*ec2.StartInstancesOutput](t)(c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}))
	waitState(ctx, t, c, id, types.InstanceStateNameRunning)
	m2 = e.hv.Machine(id)

	// Terminate: the directory and the address go, the record stays.
	term := must[*ec2.TerminateInstancesOutput](t)(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}))
	if ch := term.TerminatingInstances[0]; ch.PreviousState.Name != types.InstanceStateNameRunning || ch.CurrentState.Name != types.InstanceStateNameShuttingDown {
		t.Fatalf("terminate: %+v %+v", ch.PreviousState, ch.CurrentState)
	}
	tr := waitState(ctx, t, c, id, types.InstanceStateNameTerminated)
	if !m2.Exited() || tr.PublicIpAddress != nil {
		t.Fatalf("terminated: exited %v ip %v", m2.Exited(), aws.ToString(tr.PublicIpAddress))
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("directory after terminate: %v", err)
	}
	_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	wantCode(t, err, "IncorrectInstanceState")
	_, err = c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	wantCode(t, err, "IncorrectInstanceState")
	_, err = c.RebootInstances(ctx, &ec2.RebootInstancesInput{InstanceIds: []string{id}})
	wantCode(t, err, "IncorrectInstanceState")
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg})
	if err != nil {
		t.Fatalf("delete group after terminate: %v", err)
	}
}
