package ec2api_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestClusterZonesAndSharedState: a cluster reports its nodes' zones
// through any node, and what one node's EC2 face stores (in etcd) the
// other's sees.
func TestClusterZonesAndSharedState(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	ctx := context.Background()
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"zone-b", "zone-a"}})
	c0, c1 := ec2Client(cl.Nodes[0], "", ""), ec2Client(cl.Nodes[1], "", "")
	az := must[*ec2.DescribeAvailabilityZonesOutput](t)(c1.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}))
	if len(az.AvailabilityZones) != 2 || aws.ToString(az.AvailabilityZones[0].ZoneName) != "zone-a" || aws.ToString(az.AvailabilityZones[1].ZoneName) != "zone-b" {
		t.Fatalf("zones: %+v", az.AvailabilityZones)
	}
	kp := must[*ec2.CreateKeyPairOutput](t)(c0.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("shared")}))
	got := must[*ec2.DescribeKeyPairsOutput](t)(c1.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"shared"}}))
	if len(got.KeyPairs) != 1 || aws.ToString(got.KeyPairs[0].KeyPairId) != aws.ToString(kp.KeyPairId) {
		t.Fatalf("key pair through the other node: %+v", got.KeyPairs)
	}
}

// TestSingleNodeZone: a node alone reports one zone, REGIONa, in its
// region.
func TestSingleNodeZone(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{Configure: func(cfg *app.Config) { cfg.Region = "eu-test-1" }})
	az := must[*ec2.DescribeAvailabilityZonesOutput](t)(ec2Client(node, "", "").DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}))
	if len(az.AvailabilityZones) != 1 || aws.ToString(az.AvailabilityZones[0].ZoneName) != "eu-test-1a" ||
		aws.ToString(az.AvailabilityZones[0].RegionName) != "eu-test-1" {
		t.Fatalf("zones: %+v", az.AvailabilityZones)
	}
}
