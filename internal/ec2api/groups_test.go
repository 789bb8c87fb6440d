package ec2api_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

func ingress(proto string, port int32, cidrs ...string) []types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String(proto), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
	for _, c := range cidrs {
		p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c)})
	}
	return []types.IpPermission{p}
}

// TestSecurityGroups: create (with tags), authorize, describe (by id,
// name and filter), duplicate and missing rules, revoke, delete.
func TestSecurityGroups(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	c := ec2Client(node, "", "")
	web := must[*ec2.CreateSecurityGroupOutput](t)(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("web"), Description: aws.String("web servers"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("front")}}}}}))
	id := aws.ToString(web.GroupId)
	if len(id) != 20 || id[:3] != "sg-" {
		t.Fatalf("group id %q", id)
	}
	_, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("again")})
	wantCode(t, err, "InvalidGroup.Duplicate")
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: web.GroupId, IpPermissions: ingress("tcp", 80, "0.0.0.0/0", "10.0.0.0/8")}))
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupName: aws.String("web"), IpPermissions: ingress("tcp", 22, "192.168.0.0/16")}))
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: web.GroupId, IpPermissions: ingress("tcp", 80, "0.0.0.0/0")})
	wantCode(t, err, "InvalidPermission.Duplicate")
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: web.GroupId, IpPermissions: ingress("tcp", 80, "10.0.0.1/8")})
	wantCode(t, err, "InvalidParameterValue")

	g := describeOne(ctx, t, c, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if aws.ToString(g.GroupName) != "web" || aws.ToString(g.Description) != "web servers" || len(g.Tags) != 1 ||
		len(g.IpPermissions) != 2 || len(g.IpPermissions[0].IpRanges) != 2 || aws.ToInt32(g.IpPermissions[1].FromPort) != 22 ||
		len(g.IpPermissionsEgress) != 1 || aws.ToString(g.IpPermissionsEgress[0].IpProtocol) != "-1" {
		t.Fatalf("described group: %+v", g)
	}
	g = describeOne(ctx, t, c, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("ip-permission.to-port"), Values: []string{"22"}}}})
	if aws.ToString(g.GroupId) != id {
		t.Fatalf("filter on port: %+v", g)
	}
	must[*ec2.RevokeSecurityGroupIngressOutput](t)(c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId: web.GroupId, IpPermissions: ingress("tcp", 80, "10.0.0.0/8")}))
	_, err = c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: web.GroupId, IpPermissions: ingress("tcp", 80, "10.0.0.0/8")})
	wantCode(t, err, "InvalidPermission.NotFound")
	g = describeOne(ctx, t, c, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"web"}})
	if len(g.IpPermissions) != 2 || len(g.IpPermissions[0].IpRanges) != 1 {
		t.Fatalf("after revoke: %+v", g.IpPermissions)
	}
	must[*ec2.DeleteSecurityGroupOutput](t)(c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: web.GroupId}))
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	wantCode(t, err, "InvalidGroup.NotFound")
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupName: aws.String("web")})
	wantCode(t, err, "InvalidGroup.NotFound")
	// The name is free again.
	must[*ec2.CreateSecurityGroupOutput](t)(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("x")}))
}

func describeOne(ctx context.Context, t *testing.T, c *ec2.Client, in *ec2.DescribeSecurityGroupsInput) types.SecurityGroup {
	t.Helper()
	out := must[*ec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, in))
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("want one group, got %+v", out.SecurityGroups)
	}
	return out.SecurityGroups[0]
}

// TestTags: CreateTags, DescribeTags (filters, paging), DeleteTags
// (by key, by key and value), on key pairs and groups.
func TestTags(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	c := ec2Client(node, "", "")
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("g")}))
	kp := must[*ec2.CreateKeyPairOutput](t)(c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k"), KeyType: types.KeyTypeEd25519}))
	ids := []string{aws.ToString(sg.GroupId), aws.ToString(kp.KeyPairId)}
	var tags []types.Tag
	for _, k := range []string{"a", "b", "c"} {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String("v" + k)})
	}
	must[*ec2.CreateTagsOutput](t)(c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: tags}))
	var all []types.TagDescription
	p := ec2.NewDescribeTagsPaginator(c, &ec2.DescribeTagsInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		all = append(all, must[*ec2.DescribeTagsOutput](t)(p.NextPage(ctx)).Tags...)
	}
	if len(all) != 6 {
		t.Fatalf("tags: %+v", all)
	}
	onGroups := must[*ec2.DescribeTagsOutput](t)(c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{
		{Name: aws.String("resource-type"), Values: []string{"security-group"}}, {Name: aws.String("key"), Values: []string{"b"}}}}))
	if len(onGroups.Tags) != 1 || aws.ToString(onGroups.Tags[0].ResourceId) != ids[0] || aws.ToString(onGroups.Tags[0].Value) != "vb" {
		t.Fatalf("filtered tags: %+v", onGroups.Tags)
	}
	must[*ec2.DeleteTagsOutput](t)(c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: ids, Tags: []types.Tag{
		{Key: aws.String("a")}, {Key: aws.String("b"), Value: aws.String("wrong")}}}))
	left := must[*ec2.DescribeTagsOutput](t)(c.DescribeTags(ctx, &ec2.DescribeTagsInput{}))
	if len(left.Tags) != 4 {
		t.Fatalf("after delete: %+v", left.Tags)
	}
	_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"sg-00000000000000000"}, Tags: tags})
	wantCode(t, err, "InvalidGroup.NotFound")
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"vol-1"}, Tags: tags})
	wantCode(t, err, "InvalidID")
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("")}}})
	wantCode(t, err, "InvalidParameterValue")
}
