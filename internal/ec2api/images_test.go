package ec2api_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// putObjects creates bucket (when not "") and stores objects in it.
func putObjects(ctx context.Context, t *testing.T, c *s3.Client, bucket string, create bool, objects map[string]string) {
	t.Helper()
	if create {
		must[*s3.CreateBucketOutput](t)(c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}))
	}
	for k, v := range objects {
		must[*s3.PutObjectOutput](t)(c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader([]byte(v))}))
	}
}

// tinyObjects is a manifest under PREFIX/ and the files it names.
func tinyObjects(prefix, manifest string) map[string]string {
	return map[string]string{
		prefix + "/manifest.json": manifest,
		prefix + "/vmlinuz":       "a kernel",
		prefix + "/initrd.img":    "an initrd",
		prefix + "/root.img":      "a root disk",
	}
}

const tinyManifest = `{"name": "tiny", "kernel": "vmlinuz", "initrd": "initrd.img", "root": "root.img", "cmdline": "quiet root=/dev/vda rw"}`

// otherAccount creates an account and returns its EC2 and S3 clients.
func otherAccount(ctx context.Context, t *testing.T, n *apptest.Node, name string) (*ec2.Client, *s3.Client) {
	t.Helper()
	admin, err := client.New(client.Config{Endpoint: n.Endpoint(), AccessKey: n.AccessKey, SecretKey: n.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	k, err := admin.CreateUser(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return ec2Client(n, k.AccessKey, k.SecretKey), n.S3(k.AccessKey, k.SecretKey)
}

func describeImages(ctx context.Context, t *testing.T, c *ec2.Client, in *ec2.DescribeImagesInput) []types.Image {
	t.Helper()
	return must[*ec2.DescribeImagesOutput](t)(c.DescribeImages(ctx, in)).Images
}

// TestImages: RegisterImage from a manifest in the caller's bucket,
// DescribeImages (fields, ids, owners, filters, tags), errors, another
// account not seeing the image nor registering from a bucket it does not
// own, DeregisterImage.
func TestImages(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	c, s := ec2Client(node, "", ""), node.S3("", "")
	putObjects(ctx, t, s, "imgs", true, tinyObjects("tiny", tinyManifest))
	reg := must[*ec2.RegisterImageOutput](t)(c.RegisterImage(ctx, &ec2.RegisterImageInput{
		Name: aws.String("tiny"), ImageLocation: aws.String("imgs/tiny/manifest.json"), Description: aws.String("a tiny guest"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeImage, Tags: []types.Tag{{Key: aws.String("os"), Value: aws.String("busybox")}}}}}))
	id := aws.ToString(reg.ImageId)
	if len(id) != 21 || id[:4] != "ami-" {
		t.Fatalf("image id %q", id)
	}
	imgs := describeImages(ctx, t, c, &ec2.DescribeImagesInput{})
	if len(imgs) != 1 {
		t.Fatalf("images: %+v", imgs)
	}
	img := imgs[0]
	created, err := time.Parse(time.RFC3339, aws.ToString(img.CreationDate))
	if aws.ToString(img.ImageId) != id || aws.ToString(img.Name) != "tiny" || aws.ToString(img.ImageLocation) != "imgs/tiny/manifest.json" ||
		img.State != types.ImageStateAvailable || aws.ToString(img.OwnerId) != "root" || aws.ToBool(img.Public) ||
		img.Architecture != types.ArchitectureValuesX8664 || img.ImageType != types.ImageTypeValuesMachine ||
		aws.ToString(img.Description) != "a tiny guest" || len(img.Tags) != 1 || err != nil || time.Since(created) > time.Minute {
		t.Fatalf("described image: %+v (creation date: %v)", img, err)
	}
	_, err = c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("tiny"), ImageLocation: aws.String("imgs/tiny/manifest.json")})
	wantCode(t, err, "InvalidAMIName.Duplicate")

	// Narrowing: ids, owners, filters, tags; a second image without root.
	putObjects(ctx, t, s, "imgs", false, map[string]string{"noroot.json": `{"kernel": "tiny/vmlinuz", "initrd": "tiny/initrd.img"}`})
	two := aws.ToString(must[*ec2.RegisterImageOutput](t)(c.RegisterImage(ctx, &ec2.RegisterImageInput{
		Name: aws.String("no root (2)"), ImageLocation: aws.String("imgs/noroot.json"), Architecture: types.ArchitectureValuesX8664})).ImageId)
	for _, tc := range []struct {
		in   *ec2.DescribeImagesInput
		want []string
	}{
		{&ec2.DescribeImagesInput{ImageIds: []string{two}}, []string{two}},
		{&ec2.DescribeImagesInput{Owners: []string{"self"}}, []string{id, two}},
		{&ec2.DescribeImagesInput{Owners: []string{"AIDSOMEONEELSE"}}, nil},
		{&ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"no*"}}}}, []string{two}},
		{&ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("tag:os"), Values: []string{"busybox"}}}}, []string{id}},
		{&ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("is-public"), Values: []string{"true"}}}}, nil},
		{&ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("state"), Values: []string{"available"}}, {Name: aws.String("owner-id"), Values: []string{"root"}}}}, []string{id, two}},
	} {
		got := map[string]bool{}
		for _, im := range describeImages(ctx, t, c, tc.in) {
			got[aws.ToString(im.ImageId)] = true
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%+v: got %v, want %v", tc.in, got, tc.want)
		}
		for _, w := range tc.want {
			if !got[w] {
				t.Fatalf("%+v: got %v, want %v", tc.in, got, tc.want)
			}
		}
	}
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-0123456789abcdef0"}})
	wantCode(t, err, "InvalidAMIID.NotFound")
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-nothex"}})
	wantCode(t, err, "InvalidAMIID.Malformed")
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("again"), ImageLocation: aws.String("imgs/tiny/manifest.json"), DryRun: aws.Bool(true)})
	wantCode(t, err, "DryRunOperation")

	// Tags through CreateTags/DescribeTags.
	must[*ec2.CreateTagsOutput](t)(c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{two}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}))
	tags := must[*ec2.DescribeTagsOutput](t)(c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{two}}}})).Tags
	if len(tags) != 1 || tags[0].ResourceType != types.ResourceTypeImage {
		t.Fatalf("tags of the image: %+v", tags)
	}

	testImagesOtherAccount(ctx, t, node, id)

	must[*ec2.DeregisterImageOutput](t)(c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(two)}))
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{two}})
	wantCode(t, err, "InvalidAMIID.NotFound")
	_, err = c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(two)})
	wantCode(t, err, "InvalidAMIID.NotFound")
	if tags := must[*ec2.DescribeTagsOutput](t)(c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{two}}}})).Tags; len(tags) != 0 {
		t.Fatalf("tags of a deregistered image remain: %+v", tags)
	}
	// The name is free again.
	must[*ec2.RegisterImageOutput](t)(c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("no root (2)"), ImageLocation: aws.String("imgs/noroot.json")}))
}

// testImagesOtherAccount: another account sees none of root's private
// image, cannot change it, and cannot register from root's bucket.
func testImagesOtherAccount(ctx context.Context, t *testing.T, node *apptest.Node, rootImage string) {
	t.Helper()
	oc, osc := otherAccount(ctx, t, node, "mallory")
	if imgs := describeImages(ctx, t, oc, &ec2.DescribeImagesInput{}); len(imgs) != 0 {
		t.Fatalf("another account sees %+v", imgs)
	}
	_, err := oc.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{rootImage}})
	wantCode(t, err, "InvalidAMIID.NotFound")
	_, err = oc.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{rootImage}, DryRun: aws.Bool(true)})
	wantCode(t, err, "UnauthorizedOperation")
	_, err = oc.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(rootImage), DryRun: aws.Bool(true)})
	wantCode(t, err, "UnauthorizedOperation")
	_, err = oc.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(rootImage)})
	wantCode(t, err, "InvalidAMIID.NotFound")
	_, err = oc.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{rootImage}, Tags: []types.Tag{{Key: aws.String("k")}}})
	wantCode(t, err, "InvalidAMIID.NotFound")
	_, err = oc.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("stolen"), ImageLocation: aws.String("imgs/tiny/manifest.json")})
	wantCode(t, err, "InvalidParameterValue")
	// Its own bucket works, the same name as root's included.
	putObjects(ctx, t, osc, "mallory-imgs", true, tinyObjects("t", tinyManifest))
	must[*ec2.RegisterImageOutput](t)(oc.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("tiny"), ImageLocation: aws.String("mallory-imgs/t/manifest.json")}))
	if imgs := describeImages(ctx, t, oc, &ec2.DescribeImagesInput{}); len(imgs) != 1 || aws.ToString(imgs[0].OwnerId) == "root" {
		t.Fatalf("the other account's images: %+v", imgs)
	}
}

// TestRegisterImageErrors: what RegisterImage refuses, in EC2's codes.
func TestRegisterImageErrors(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	c, s := ec2Client(node, "", ""), node.S3("", "")
	putObjects(ctx, t, s, "bkt", true, map[string]string{
		"ok/vmlinuz": "k", "ok/initrd.img": "i",
		"nokernel.json": `{"initrd": "ok/initrd.img"}`,
		"abs.json":      `{"kernel": "/ok/vmlinuz", "initrd": "ok/initrd.img"}`,
		"dots.json":     `{"kernel": "../b/ok/vmlinuz", "initrd": "ok/initrd.img"}`,
		"missing.json":  `{"kernel": "ok/vmlinuz", "initrd": "ok/nothere"}`,
		"notjson.json":  `kernel=vmlinuz`,
	})
	for _, tc := range []struct {
		name, loc, arch, code string
	}{
		{"", "bkt/ok.json", "", "MissingParameter"},
		{"x", "bkt/ok.json", "", "InvalidParameterValue"},
		{"bad*name", "bkt/ok.json", "", "InvalidParameterValue"},
		{"good", "", "", "MissingParameter"},
		{"good", "bkt/nokernel.json", "arm64", "InvalidParameterValue"},
		{"good", "bkt", "", "InvalidParameterValue"},
		{"good", "nobucket/m.json", "", "InvalidParameterValue"},
		{"good", "bkt/none.json", "", "InvalidParameterValue"},
		{"good", "bkt/nokernel.json", "", "InvalidParameterValue"},
		{"good", "bkt/abs.json", "", "InvalidParameterValue"},
		{"good", "bkt/dots.json", "", "InvalidParameterValue"},
		{"good", "bkt/missing.json", "", "InvalidParameterValue"},
		{"good", "bkt/notjson.json", "", "InvalidParameterValue"},
	} {
		in := &ec2.RegisterImageInput{Name: aws.String(tc.name), Architecture: types.ArchitectureValues(tc.arch)}
		if tc.loc != "" {
			in.ImageLocation = aws.String(tc.loc)
		}
		_, err := c.RegisterImage(ctx, in)
		wantCode(t, err, tc.code)
	}
	if imgs := describeImages(ctx, t, c, &ec2.DescribeImagesInput{}); len(imgs) != 0 {
		t.Fatalf("a refused registration left %+v", imgs)
	}
}

// TestPublicImage: ModifyImageAttribute's launch permission group all
// shows an image to every account, which can launch (see) it but not
// change it; removing it hides the image again.
func TestPublicImage(t *testing.T) {
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	c := ec2Client(node, "", "")
	putObjects(ctx, t, node.S3("", ""), "imgs", true, tinyObjects("tiny", tinyManifest))
	id := aws.ToString(must[*ec2.RegisterImageOutput](t)(c.RegisterImage(ctx, &ec2.RegisterImageInput{
		Name: aws.String("tiny"), ImageLocation: aws.String("imgs/tiny/manifest.json")})).ImageId)
	other, _ := otherAccount(ctx, t, node, "carol")
	share := func(add bool) {
		t.Helper()
		perm := &types.LaunchPermissionModifications{}
		if add {
			perm.Add = []types.LaunchPermission{{Group: types.PermissionGroupAll}}
		} else {
			perm.Remove = []types.LaunchPermission{{Group: types.PermissionGroupAll}}
		}
		must[*ec2.ModifyImageAttributeOutput](t)(c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(id), LaunchPermission: perm}))
	}
	share(true)
	attr := must[*ec2.DescribeImageAttributeOutput](t)(c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(id), Attribute: types.ImageAttributeNameLaunchPermission}))
	if len(attr.LaunchPermissions) != 1 || attr.LaunchPermissions[0].Group != types.PermissionGroupAll {
		t.Fatalf("launch permissions: %+v", attr.LaunchPermissions)
	}
	for _, in := range []*ec2.DescribeImagesInput{{}, {ImageIds: []string{id}}, {ExecutableUsers: []string{"all"}},
		{Filters: []types.Filter{{Name: aws.String("is-public"), Values: []string{"true"}}}}} {
		if imgs := describeImages(ctx, t, other, in); len(imgs) != 1 || !aws.ToBool(imgs[0].Public) || aws.ToString(imgs[0].OwnerId) != "root" {
			t.Fatalf("%+v: the other account sees %+v", in, imgs)
		}
	}
	if imgs := describeImages(ctx, t, other, &ec2.DescribeImagesInput{Owners: []string{"self"}}); len(imgs) != 0 {
		t.Fatalf("owner self: %+v", imgs)
	}
	_, err := other.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id)})
	wantCode(t, err, "UnauthorizedOperation")
	_, err = other.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(id),
		LaunchPermission: &types.LaunchPermissionModifications{Remove: []types.LaunchPermission{{Group: types.PermissionGroupAll}}}})
	wantCode(t, err, "UnauthorizedOperation")
	_, err = c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(id),
		LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{{UserId: aws.String("AIDSOMEONE")}}}})
	wantCode(t, err, "InvalidParameterValue")
	must[*ec2.ModifyImageAttributeOutput](t)(c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(id), Description: &types.AttributeValue{Value: aws.String("shared")}}))
	desc := must[*ec2.DescribeImageAttributeOutput](t)(c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(id), Attribute: types.ImageAttributeNameDescription}))
	if aws.ToString(desc.Description.Value) != "shared" {
		t.Fatalf("description: %+v", desc.Description)
	}
	share(false)
	if imgs := describeImages(ctx, t, other, &ec2.DescribeImagesInput{}); len(imgs) != 0 {
		t.Fatalf("a private image again is seen: %+v", imgs)
	}
	_, err = other.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	wantCode(t, err, "InvalidAMIID.NotFound")
}

// TestClusterImages: an image whose objects were written through one node
// registers through another (reading them from wherever they are) and is
// seen through a third.
func TestClusterImages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	ctx := context.Background()
	cl := apptest.StartCluster(t, apptest.ClusterOptions{Zones: []string{"zone-a", "zone-b", "zone-c"}})
	putObjects(ctx, t, cl.Nodes[0].S3("", ""), "imgs", true, tinyObjects("tiny", tinyManifest))
	id := aws.ToString(must[*ec2.RegisterImageOutput](t)(ec2Client(cl.Nodes[1], "", "").RegisterImage(ctx, &ec2.RegisterImageInput{
		Name: aws.String("tiny"), ImageLocation: aws.String("imgs/tiny/manifest.json")})).ImageId)
	imgs := describeImages(ctx, t, ec2Client(cl.Nodes[2], "", ""), &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if len(imgs) != 1 || aws.ToString(imgs[0].Name) != "tiny" {
		t.Fatalf("through the third node: %+v", imgs)
	}
}
