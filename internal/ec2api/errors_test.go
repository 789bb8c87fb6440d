package ec2api_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestErrorsAndIsolation: coded errors reach the SDK; another account sees
// none of the first's key pairs, groups or tags and cannot touch them;
// DryRun answers DryRunOperation or UnauthorizedOperation and changes
// nothing; a launch of an image that does not exist is InvalidAMIID.NotFound.
func TestErrorsAndIsolation(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	root := ec2Client(node, "", "")
	other := newAccount(ctx, t, node, "bob")
	sg := must[*ec2.CreateSecurityGroupOutput](t)(root.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("g"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}}))
	must[*ec2.CreateKeyPairOutput](t)(root.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k")}))

	_, err := root.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{})
	wantCode(t, err, "MissingParameter")
	_, err = root.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{})
	wantCode(t, err, "MissingParameter")
	_, err = root.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("x"), KeyType: "dsa"})
	wantCode(t, err, "InvalidParameterValue")
	_, err = root.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(1)})
	wantCode(t, err, "InvalidParameterValue")
	_, err = root.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: []types.Filter{{Name: aws.String("nope"), Values: []string{"x"}}}})
	wantCode(t, err, "InvalidParameterValue")
	_, err = root.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: aws.String("bad"), PublicKeyMaterial: []byte("ssh-rsa notakey")})
	wantCode(t, err, "InvalidKey.Format")

	// Bob sees nothing of root's and cannot reach it by id or name.
	if out := must[*ec2.DescribeSecurityGroupsOutput](t)(other.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})); len(out.SecurityGroups) != 0 {
		t.Fatalf("bob sees groups: %+v", out.SecurityGroups)
	}
	if out := must[*ec2.DescribeKeyPairsOutput](t)(other.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})); len(out.KeyPairs) != 0 {
		t.Fatalf("bob sees key pairs: %+v", out.KeyPairs)
	}
	if out := must[*ec2.DescribeTagsOutput](t)(other.DescribeTags(ctx, &ec2.DescribeTagsInput{})); len(out.Tags) != 0 {
		t.Fatalf("bob sees tags: %+v", out.Tags)
	}
	// An unknown filter is refused even where nothing would be listed.
	_, err = other.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: []types.Filter{{Name: aws.String("nope"), Values: []string{"x"}}}})
	wantCode(t, err, "InvalidParameterValue")
	_, err = other.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(sg.GroupId)}})
	wantCode(t, err, "InvalidGroup.NotFound")
	_, err = other.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId})
	wantCode(t, err, "InvalidGroup.NotFound")
	_, err = other.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{aws.ToString(sg.GroupId)}, Tags: []types.Tag{{Key: aws.String("x"), Value: aws.String("y")}}})
	wantCode(t, err, "InvalidGroup.NotFound")
	_, err = other.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"k"}})
	wantCode(t, err, "InvalidKeyPair.NotFound")
	// Bob's own group of the same name is his.
	must[*ec2.CreateSecurityGroupOutput](t)(other.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("bob's")}))

	// DryRun.
	_, err = other.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId, DryRun: aws.Bool(true)})
	wantCode(t, err, "UnauthorizedOperation")
	_, err = root.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId, DryRun: aws.Bool(true)})
	wantCode(t, err, "DryRunOperation")
	_, err = root.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("dry"), DryRun: aws.Bool(true)})
	wantCode(t, err, "DryRunOperation")
	_, err = root.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k"), DryRun: aws.Bool(true)})
	wantCode(t, err, "InvalidKeyPair.Duplicate")
	_, err = root.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("g"), DryRun: aws.Bool(true)})
	wantCode(t, err, "InvalidGroup.Duplicate")
	_, err = root.DescribeRegions(ctx, &ec2.DescribeRegionsInput{DryRun: aws.Bool(true)})
	wantCode(t, err, "DryRunOperation")
	describeOne(ctx, t, root, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(sg.GroupId)}})
	if out := must[*ec2.DescribeKeyPairsOutput](t)(root.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})); len(out.KeyPairs) != 1 {
		t.Fatalf("a DryRun created a key pair: %+v", out.KeyPairs)
	}

	_, err = root.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	wantCode(t, err, "InvalidAMIID.NotFound")
}
