package instances_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/instances"
)

func runInput() *ec2.RunInstancesInput {
	return &ec2.RunInstancesInput{ImageId: aws.String(testImage), InstanceType: types.InstanceTypeT3Nano,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}
}

// TestErrorsAccountsTokens: EC2's error codes for bad launches and bad
// ids, DryRun, another account seeing nothing, ClientToken idempotency
// and MinCount/MaxCount against capacity.
func TestErrorsAccountsTokens(t *testing.T) {
	ctx := context.Background()
	e := start(t, "", instances.NewFakeHypervisor(), 2048) // room for four t3.nano
	c := e.ec2
	bad := []struct {
		code string
		edit func(*ec2.RunInstancesInput)
	}{
		{"MissingParameter", func(in *ec2.RunInstancesInput) { in.ImageId = nil }},
		{"InvalidAMIID.NotFound", func(in *ec2.RunInstancesInput) { in.ImageId = aws.String("ami-00000000") }},
		{"InvalidParameterValue", func(in *ec2.RunInstancesInput) { in.InstanceType = "m9.huge" }},
		{"InvalidKeyPair.NotFound", func(in *ec2.RunInstancesInput) { in.KeyName = aws.String("nokey") }},
		{"InvalidGroup.NotFound", func(in *ec2.RunInstancesInput) { in.SecurityGroupIds = []string{"sg-0123456789abcdef0"} }},
		{"InvalidParameterValue", func(in *ec2.RunInstancesInput) {
			in.Placement = &types.Placement{AvailabilityZone: aws.String("mars-1a")}
		}},
		{"InvalidParameterValue", func(in *ec2.RunInstancesInput) { in.MinCount = aws.Int32(3) }},
		{"InvalidParameterValue", func(in *ec2.RunInstancesInput) { in.UserData = aws.String("not base64!") }},
		{"InsufficientInstanceCapacity", func(in *ec2.RunInstancesInput) { in.MinCount, in.MaxCount = aws.Int32(5), aws.Int32(5) }},
		{"DryRunOperation", func(in *ec2.RunInstancesInput) { in.DryRun = aws.Bool(true) }},
	}
	for _, b := range bad {
		in := runInput()
		b.edit(in)
		_, err := c.RunInstances(ctx, in)
		wantCode(t, err, b.code)
	}
	if got := describe(ctx, t, c, &ec2.DescribeInstancesInput{}); len(got) != 0 {
		t.Fatalf("failed launches left instances: %v", ids(got))
	}

	// MaxCount past the room launches what fits, if at least MinCount.
	in := runInput()
	in.MinCount, in.MaxCount = aws.Int32(2), aws.Int32(9)
	run := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, in))
	if len(run.Instances) != 4 {
		t.Fatalf("launched %d, want the 4 that fit", len(run.Instances))
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	_, err := c.RunInstances(ctx, runInput())
	wantCode(t, err, "InsufficientInstanceCapacity")
	term := must[*ec2.TerminateInstancesOutput](t)(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids(run.Instances[1:])}))
	if len(term.TerminatingInstances) != 3 {
		t.Fatalf("terminate: %+v", term.TerminatingInstances)
	}

	// Bad ids.
	_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-nothex"}})
	wantCode(t, err, "InvalidInstanceID.Malformed")
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String("i-0123456789abcdef0")})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}, DryRun: aws.Bool(true)})
	wantCode(t, err, "DryRunOperation")

	// Another account sees none of it and can touch none of it.
	other := e.account(ctx, t, "other")
	if got := describe(ctx, t, other, &ec2.DescribeInstancesInput{}); len(got) != 0 {
		t.Fatalf("other account sees %v", ids(got))
	}
	_, err = other.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = other.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}, DryRun: aws.Bool(true)})
	wantCode(t, err, "UnauthorizedOperation")
	_, err = other.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = other.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: &id})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	// Tags of one's own instance work.
	must[*ec2.CreateTagsOutput](t)(c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}))
	if got := describe(ctx, t, c, &ec2.DescribeInstancesInput{Filters: []types.Filter{flt("tag:k", "v")}}); len(got) != 1 {
		t.Fatalf("tag filter: %v", ids(got))
	}

	// ClientToken: a retry returns the same reservation; other
	// parameters with the token are a mismatch.
	for _, x := range run.Instances[1:] {
		waitState(ctx, t, c, aws.ToString(x.InstanceId), types.InstanceStateNameTerminated)
	}
	tok := runInput()
	tok.ClientToken = aws.String("retry-me")
	first := must[*ec2.RunInstancesOutput](t)(other.RunInstances(ctx, tok))
	second := must[*ec2.RunInstancesOutput](t)(other.RunInstances(ctx, tok))
	if aws.ToString(first.ReservationId) != aws.ToString(second.ReservationId) || len(second.Instances) != 1 ||
		aws.ToString(first.Instances[0].InstanceId) != aws.ToString(second.Instances[0].InstanceId) ||
		aws.ToString(second.Instances[0].ClientToken) != "retry-me" {
		t.Fatalf("retry: %+v vs %+v", first, second)
	}
	if got := describe(ctx, t, other, &ec2.DescribeInstancesInput{}); len(got) != 1 {
		t.Fatalf("a retried launch made %d instances", len(got))
	}
	tok.InstanceType = types.InstanceTypeT3Micro
	_, err = other.RunInstances(ctx, tok)
	wantCode(t, err, "IdempotentParameterMismatch")
	// The token is the account's own: root may use it too.
	tok.InstanceType = types.InstanceTypeT3Nano
	mine := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, tok))
	if aws.ToString(mine.ReservationId) == aws.ToString(first.ReservationId) {
		t.Fatal("a token of another account returned its reservation")
	}
}

// TestConcurrentClientToken: calls racing with one token launch once and
// all answer the same reservation with its instance.
func TestConcurrentClientToken(t *testing.T) {
	ctx := context.Background()
	e := start(t, "", instances.NewFakeHypervisor(), 0)
	in := runInput()
	in.ClientToken = aws.String("race")
	const n = 4
	outs := make(chan *ec2.RunInstancesOutput, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			out, err := e.ec2.RunInstances(ctx, in)
			outs <- out
			errs <- err
		}()
	}
	var res string
	for range n {
		out := <-outs
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if len(out.Instances) != 1 || (res != "" && aws.ToString(out.ReservationId) != res) {
			t.Fatalf("answer %s with %d instances, want %s with 1", aws.ToString(out.ReservationId), len(out.Instances), res)
		}
		res = aws.ToString(out.ReservationId)
	}
	if got := describe(ctx, t, e.ec2, &ec2.DescribeInstancesInput{}); len(got) != 1 {
		t.Fatalf("%d instances launched", len(got))
	}
}

// TestVCPULimit: an account's instances that are not stopped have at most
// AccountVCPUs vCPUs: a launch past it launches what fits, down to
// MinCount, else VcpuLimitExceeded; a stopped instance frees its vCPUs,
// and starting it again is refused while they are taken; another account
// has its own limit.
func TestVCPULimit(t *testing.T) {
	ctx := context.Background()
	n := apptest.Start(t, apptest.Options{Configure: func(c *app.Config) {
		c.Instances.Hypervisor = instances.NewFakeHypervisor()
		c.Instances.Images = instances.FakeImages{Images: map[string]string{testImage: ""}}
		c.Instances.AccountVCPUs = 4 // two t3.nano
	}})
	e := &env{node: n, ec2: ec2Client(n, n.AccessKey, n.SecretKey)}
	in := runInput()
	in.MaxCount = aws.Int32(3)
	run := must[*ec2.RunInstancesOutput](t)(e.ec2.RunInstances(ctx, in))
	if len(run.Instances) != 2 {
		t.Fatalf("launched %d, want the 2 the limit leaves room for", len(run.Instances))
	}
	_, err := e.ec2.RunInstances(ctx, runInput())
	wantCode(t, err, "VcpuLimitExceeded")
	id := aws.ToString(run.Instances[0].InstanceId)
	waitState(ctx, t, e.ec2, id, types.InstanceStateNameRunning)
	must[*ec2.StopInstancesOutput](t)(e.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}))
	waitState(ctx, t, e.ec2, id, types.InstanceStateNameStopped)
	third := must[*ec2.RunInstancesOutput](t)(e.ec2.RunInstances(ctx, runInput()))
	// the stopped one's vCPUs are taken: starting it is refused, and it
	// stays stopped, until the newcomer is gone
	_, err = e.ec2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	wantCode(t, err, "VcpuLimitExceeded")
	waitState(ctx, t, e.ec2, id, types.InstanceStateNameStopped)
	gone := aws.ToString(third.Instances[0].InstanceId)
	must[*ec2.TerminateInstancesOutput](t)(e.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{gone}}))
	waitState(ctx, t, e.ec2, gone, types.InstanceStateNameTerminated)
	must[*ec2.StartInstancesOutput](t)(e.ec2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}))
	eve := e.account(ctx, t, "eve")
	must[*ec2.RunInstancesOutput](t)(eve.RunInstances(ctx, runInput()))
}
