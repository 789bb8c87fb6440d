package instances_test

import (
	"context"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/insitu-cloud/insitu/internal/instances"
)

func ids(in []types.Instance) []string {
	var out []string
	for _, i := range in {
		out = append(out, aws.ToString(i.InstanceId))
	}
	sort.Strings(out)
	return out
}

func flt(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

// TestDescribeFiltersPages: the filters of the issue, tags given at
// launch, MaxResults/NextToken through the SDK paginator, and
// DescribeInstanceStatus.
func TestDescribeFiltersPages(t *testing.T) {
	ctx := context.Background()
	e := start(t, "", instances.NewFakeHypervisor(), 0)
	c := e.ec2
	runN := func(n int32, typ types.InstanceType, tag string) []string {
		in := &ec2.RunInstancesInput{ImageId: aws.String(testImage), InstanceType: typ, MinCount: aws.Int32(n), MaxCount: aws.Int32(n)}
		if tag != "" {
			in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeInstance,
				Tags: []types.Tag{{Key: aws.String("role"), Value: aws.String(tag)}}}}
		}
		out := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, in))
		if len(out.Instances) != int(n) {
			t.Fatalf("launched %d of %d", len(out.Instances), n)
		}
		return ids(out.Instances)
	}
	web := runN(3, types.InstanceTypeT3Nano, "web")
	db := runN(2, types.InstanceTypeT3Micro, "db")
	plain := runN(2, types.InstanceTypeT3Nano, "")
	all := append(append(append([]string{}, web...), db...), plain...)
	sort.Strings(all)
	for _, id := range all {
		waitState(ctx, t, c, id, types.InstanceStateNameRunning)
	}
	must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: plain[:1]}))
	waitState(ctx, t, c, plain[0], types.InstanceStateNameStopped)

	cases := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"instance-id", []types.Filter{flt("instance-id", web[0], db[1])}, sorted(web[0], db[1])},
		{"state running", []types.Filter{flt("instance-state-name", "running")}, without(all, plain[0])},
		{"state stopped", []types.Filter{flt("instance-state-name", "stopped")}, []string{plain[0]}},
		{"image-id", []types.Filter{flt("image-id", testImage)}, all},
		{"image-id other", []types.Filter{flt("image-id", "ami-00000000")}, nil},
		{"instance-type", []types.Filter{flt("instance-type", "t3.micro")}, db},
		{"instance-type wildcard", []types.Filter{flt("instance-type", "t3.n*")}, sorted(append(web, plain...)...)},
		{"availability-zone", []types.Filter{flt("availability-zone", e.node.Region+"a")}, all},
		{"tag", []types.Filter{flt("tag:role", "web")}, web},
		{"tag-key", []types.Filter{flt("tag-key", "role")}, sorted(append(web, db...)...)},
		{"and", []types.Filter{flt("tag:role", "db", "web"), flt("instance-type", "t3.nano")}, web},
	}
	for _, tc := range cases {
		got := ids(describe(ctx, t, c, &ec2.DescribeInstancesInput{Filters: tc.filters}))
		if !equal(got, tc.want) {
			t.Errorf("%s: got %v want %v", tc.name, got, tc.want)
		}
	}
	_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{flt("no-such-filter", "x")}})
	wantCode(t, err, "InvalidParameterValue")

	// Pages of 5 through the paginator: every instance once (a page
	// groups its instances by reservation).
	var seen []string
	pages := 0
	p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		out := must[*ec2.DescribeInstancesOutput](t)(p.NextPage(ctx))
		pages++
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				seen = append(seen, aws.ToString(i.InstanceId))
			}
		}
	}
	if pages != 2 || !equal(sorted(seen...), all) {
		t.Fatalf("pages %d: %v want %v", pages, seen, all)
	}
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{NextToken: aws.String("!!")})
	wantCode(t, err, "InvalidParameterValue")

	// Reservations group the instances launched together.
	out := must[*ec2.DescribeInstancesOutput](t)(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}))
	if len(out.Reservations) != 3 {
		t.Fatalf("reservations: %d", len(out.Reservations))
	}

	// Status: running ones by default, all with IncludeAllInstances.
	st := must[*ec2.DescribeInstanceStatusOutput](t)(c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{}))
	if len(st.InstanceStatuses) != len(all)-1 || st.InstanceStatuses[0].SystemStatus.Status != types.SummaryStatusOk {
		t.Fatalf("status: %+v", st.InstanceStatuses)
	}
	st = must[*ec2.DescribeInstanceStatusOutput](t)(c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{
		IncludeAllInstances: aws.Bool(true), InstanceIds: []string{plain[0]}}))
	if len(st.InstanceStatuses) != 1 || st.InstanceStatuses[0].InstanceState.Name != types.InstanceStateNameStopped {
		t.Fatalf("status of a stopped one: %+v", st.InstanceStatuses)
	}
}

func sorted(s ...string) []string { s = append([]string(nil), s...); sort.Strings(s); return s }

func without(all []string, x string) []string {
	var out []string
	for _, s := range all {
		if s != x {
			out = append(out, s)
		}
	}
	return out
}

func equal(a, b []string) bool {
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
