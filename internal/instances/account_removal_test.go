package instances_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/insitu-cloud/insitu/internal/client"
	"github.com/insitu-cloud/insitu/internal/instances"
)

// TestAccountWithInstancesIsNotRemoved: an account that still has an
// instance (running, then stopped: its disk is kept) is not removed, as one
// that owns a bucket is not; once the instance is terminated it is.
func TestAccountWithInstancesIsNotRemoved(t *testing.T) {
	ctx := context.Background()
	e := start(t, "", instances.NewFakeHypervisor(), 0)
	dave := e.account(ctx, t, "dave")
	admin, err := client.New(client.Config{Endpoint: e.node.Endpoint(), AccessKey: e.node.AccessKey, SecretKey: e.node.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	run := must[*ec2.RunInstancesOutput](t)(dave.RunInstances(ctx, runInput()))
	id := aws.ToString(run.Instances[0].InstanceId)
	waitState(ctx, t, dave, id, types.InstanceStateNameRunning)
	refused := func(when string) {
		err := admin.DeleteUser(ctx, "dave")
		if err == nil || !strings.Contains(err.Error(), "1 instance(s)") {
			t.Fatalf("removing dave with an instance %s: %v, want refused for 1 instance", when, err)
		}
	}
	refused("running")
	must[*ec2.StopInstancesOutput](t)(dave.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}))
	waitState(ctx, t, dave, id, types.InstanceStateNameStopped)
	refused("stopped")
	must[*ec2.TerminateInstancesOutput](t)(dave.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}))
	waitState(ctx, t, dave, id, types.InstanceStateNameTerminated)
	if err := admin.DeleteUser(ctx, "dave"); err != nil {
		t.Fatalf("removing dave after his instance was terminated: %v", err)
	}
}
