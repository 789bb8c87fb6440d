package ec2api_test

import (
	"context"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/crypto/ssh"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestDescribeStatic: regions, zones and instance types through
// aws-sdk-go-v2's ec2 client.
func TestDescribeStatic(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	c := ec2Client(node, "", "")
	reg := must[*ec2.DescribeRegionsOutput](t)(c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{}))
	if len(reg.Regions) != 1 || aws.ToString(reg.Regions[0].RegionName) != node.Region {
		t.Fatalf("regions: %+v", reg.Regions)
	}
	az := must[*ec2.DescribeAvailabilityZonesOutput](t)(c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}))
	if len(az.AvailabilityZones) != 1 || aws.ToString(az.AvailabilityZones[0].ZoneName) != node.Region+"a" ||
		az.AvailabilityZones[0].State != types.AvailabilityZoneStateAvailable {
		t.Fatalf("zones: %+v", az.AvailabilityZones)
	}
	it := must[*ec2.DescribeInstanceTypesOutput](t)(c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{}))
	mem := map[types.InstanceType]int64{}
	for _, x := range it.InstanceTypes {
		mem[x.InstanceType] = aws.ToInt64(x.MemoryInfo.SizeInMiB)
		if aws.ToInt32(x.VCpuInfo.DefaultVCpus) != 2 {
			t.Fatalf("%s vCPUs %d", x.InstanceType, aws.ToInt32(x.VCpuInfo.DefaultVCpus))
		}
	}
	want := map[types.InstanceType]int64{"t3.nano": 512, "t3.micro": 1024, "t3.small": 2048, "t3.medium": 4096, "t3.large": 8192}
	if len(mem) != len(want) {
		t.Fatalf("instance types: %v", mem)
	}
	for k, v := range want {
		if mem[k] != v {
			t.Fatalf("instance types: %v", mem)
		}
	}
	one := must[*ec2.DescribeInstanceTypesOutput](t)(c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{
		Filters: []types.Filter{{Name: aws.String("instance-type"), Values: []string{"t3.mi*"}}}}))
	if len(one.InstanceTypes) != 1 || one.InstanceTypes[0].InstanceType != "t3.micro" {
		t.Fatalf("filtered: %+v", one.InstanceTypes)
	}
	// Paging through the SDK paginator (MaxResults is at least 5).
	var seen []types.InstanceType
	p := ec2.NewDescribeInstanceTypesPaginator(c, &ec2.DescribeInstanceTypesInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		for _, x := range must[*ec2.DescribeInstanceTypesOutput](t)(p.NextPage(ctx)).InstanceTypes {
			seen = append(seen, x.InstanceType)
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paged: %v", seen)
	}
}

// TestKeyPairs: create (RSA and ED25519, with tags), import, describe
// (by name, id and filter, with the public key), delete.
func TestKeyPairs(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	c := ec2Client(node, "", "")
	rsaKey := must[*ec2.CreateKeyPairOutput](t)(c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k-rsa"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeKeyPair, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}}}}}))
	if b, _ := pem.Decode([]byte(aws.ToString(rsaKey.KeyMaterial))); b == nil || b.Type != "RSA PRIVATE KEY" {
		t.Fatalf("rsa key material: %q", aws.ToString(rsaKey.KeyMaterial))
	}
	if !strings.HasPrefix(aws.ToString(rsaKey.KeyPairId), "key-") || len(aws.ToString(rsaKey.KeyPairId)) != 21 {
		t.Fatalf("key pair id %q", aws.ToString(rsaKey.KeyPairId))
	}
	edKey := must[*ec2.CreateKeyPairOutput](t)(c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k-ed"), KeyType: types.KeyTypeEd25519}))
	signer, err := ssh.ParsePrivateKey([]byte(aws.ToString(edKey.KeyMaterial)))
	if err != nil || signer.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("ed25519 key material: %v", err)
	}
	pub := ssh.MarshalAuthorizedKey(signer.PublicKey())
	imp := must[*ec2.ImportKeyPairOutput](t)(c.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: aws.String("k-imp"), PublicKeyMaterial: pub}))
	if aws.ToString(imp.KeyFingerprint) != aws.ToString(edKey.KeyFingerprint) {
		t.Fatalf("fingerprints differ: %s %s", aws.ToString(imp.KeyFingerprint), aws.ToString(edKey.KeyFingerprint))
	}
	all := must[*ec2.DescribeKeyPairsOutput](t)(c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{IncludePublicKey: aws.Bool(true)}))
	if len(all.KeyPairs) != 3 {
		t.Fatalf("key pairs: %+v", all.KeyPairs)
	}
	for _, k := range all.KeyPairs {
		if aws.ToString(k.KeyName) == "k-imp" && aws.ToString(k.PublicKey) != strings.TrimSpace(string(pub)) {
			t.Fatalf("imported public key %q", aws.ToString(k.PublicKey))
		}
	}
	byTag := must[*ec2.DescribeKeyPairsOutput](t)(c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{
		Filters: []types.Filter{{Name: aws.String("tag:env"), Values: []string{"test"}}}}))
	if len(byTag.KeyPairs) != 1 || aws.ToString(byTag.KeyPairs[0].KeyName) != "k-rsa" || len(byTag.KeyPairs[0].Tags) != 1 {
		t.Fatalf("by tag: %+v", byTag.KeyPairs)
	}
	byID := must[*ec2.DescribeKeyPairsOutput](t)(c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyPairIds: []string{aws.ToString(edKey.KeyPairId)}}))
	if len(byID.KeyPairs) != 1 || byID.KeyPairs[0].KeyType != types.KeyTypeEd25519 {
		t.Fatalf("by id: %+v", byID.KeyPairs)
	}
	_, err = c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k-ed")})
	wantCode(t, err, "InvalidKeyPair.Duplicate")
	must[*ec2.DeleteKeyPairOutput](t)(c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("k-rsa")}))
	_, err = c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"k-rsa"}})
	wantCode(t, err, "InvalidKeyPair.NotFound")
	tags := must[*ec2.DescribeTagsOutput](t)(c.DescribeTags(ctx, &ec2.DescribeTagsInput{}))
	if len(tags.Tags) != 0 {
		t.Fatalf("tags of a deleted key pair remain: %+v", tags.Tags)
	}
}
