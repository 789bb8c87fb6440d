package ui_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// ec2As is an EC2 client for one account.
func (e *env) ec2As(ak, sk string) *ec2.Client {
	return ec2.New(ec2.Options{BaseEndpoint: aws.String(e.node.Endpoint() + "/services/compute"), Region: e.node.Region,
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, ""), HTTPClient: e.node.HTTPClient(), Retryer: apptest.ConnRetryer()})
}

// fakeImage registers an image whose files are placeholders (a boot
// fails, which these tests do not need) and returns its id.
func (e *env) fakeImage(t *testing.T, ak, sk, bucket string) string {
	t.Helper()
	ctx := context.Background()
	e.mkBucket(t, ak, sk, bucket)
	for k, v := range map[string]string{"tiny/manifest.json": `{"name": "tiny", "kernel": "vmlinuz", "initrd": "initrd.img", "root": "root.img", "cmdline": "quiet"}`,
		"tiny/vmlinuz": "a kernel", "tiny/initrd.img": "an initrd", "tiny/root.img": "a root disk"} {
		if _, err := e.node.S3(ak, sk).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader([]byte(v))}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.ec2As(ak, sk).RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("tiny"), ImageLocation: aws.String(bucket + "/tiny/manifest.json")})
	if err != nil {
		t.Fatalf("register image: %v", err)
	}
	return aws.ToString(out.ImageId)
}

var instanceIDRE = regexp.MustCompile(`^/ui/instances/(i-[0-9a-f]+)$`)

// TestInstancePages launches from the page, lists, opens, stops and
// terminates through it, and keeps bob's instance out of alice's reach.
// The image is a placeholder: what is tested is the pages and the
// lifecycle calls, not a boot (internal/instances boots real guests).
func TestInstancePages(t *testing.T) {
	e := start(t, false)
	img := e.fakeImage(t, e.aliceKey, e.aliceSecret, "alice-imgs")
	b := e.login(t, e.aliceKey, e.aliceSecret)
	if code, body := b.get("/ui/instances"); code != http.StatusOK || !strings.Contains(body, "No instances.") {
		t.Fatalf("empty instances page: %d\n%s", code, body)
	}
	resp := b.change("/ui/instances", url.Values{"image": {img}, "type": {"t3.micro"}, "user_data": {"#!/bin/sh\necho hi\n"}})
	m := instanceIDRE.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("launch: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), bodyOf(resp))
	}
	id := m[1]
	code, body := b.get("/ui/instances/" + id)
	if code != http.StatusOK || !strings.Contains(body, img) || !strings.Contains(body, `id="console"`) || !strings.Contains(body, "t3.micro") {
		t.Fatalf("instance page: %d\n%s", code, body)
	}
	if _, body := b.get("/ui/instances"); !strings.Contains(body, `href="/ui/instances/`+id+`"`) {
		t.Errorf("the list misses %s", id)
	}
	for _, bad := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"image": {"ami-00000000000000000"}}, "refused"},
		{url.Values{"image": {img}, "type": {"<script>x()</script>"}}, "refused"},
	} {
		resp := b.change("/ui/instances", bad.form)
		if body := bodyOf(resp); resp.StatusCode < 400 || !strings.Contains(body, bad.want) || strings.Contains(body, "<script>x()") {
			t.Errorf("launch %v: %d\n%s", bad.form, resp.StatusCode, body)
		}
	}
	if resp := b.postForm("/ui/instances/"+id+"/terminate", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("terminate without the CSRF token: %d", resp.StatusCode)
	}
	instancesHideBobs(t, e, b)
	if resp := b.change("/ui/instances/"+id+"/terminate", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("terminate: %d\n%s", resp.StatusCode, bodyOf(resp))
	}
	if _, body := b.get("/ui/instances/" + id); !strings.Contains(body, "Asked to terminate") && !strings.Contains(body, "shutting-down") && !strings.Contains(body, "terminated") {
		t.Errorf("after terminate the page shows:\n%s", body)
	}
	out, err := e.ec2As(e.aliceKey, e.aliceSecret).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(out.Reservations) != 1 {
		t.Fatalf("describe: %v", err)
	}
	if st := out.Reservations[0].Instances[0].State.Name; st != "shutting-down" && st != "terminated" {
		t.Errorf("after the page's terminate the EC2 face says %s", st)
	}
}

// instancesHideBobs tries bob's instance through every instance URL.
func instancesHideBobs(t *testing.T, e *env, alice *browser) {
	img := e.fakeImage(t, e.bobKey, e.bobSecret, "bob-imgs")
	out, err := e.ec2As(e.bobKey, e.bobSecret).RunInstances(context.Background(), &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	if code, body := alice.get("/ui/instances/" + id); code != http.StatusNotFound || strings.Contains(body, img) {
		t.Errorf("alice opening bob's instance: %d\n%s", code, body)
	}
	for _, act := range []string{"stop", "start", "reboot", "terminate"} {
		if resp := alice.change("/ui/instances/"+id+"/"+act, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("alice's %s of bob's instance: %d", act, resp.StatusCode)
		}
	}
	if _, body := alice.get("/ui/instances"); strings.Contains(body, id) {
		t.Errorf("alice's list shows bob's instance")
	}
	if resp := alice.change("/ui/instances", url.Values{"image": {img}}); resp.StatusCode < 400 {
		t.Errorf("alice launching bob's private image: %d", resp.StatusCode)
	}
	d, err := e.ec2As(e.bobKey, e.bobSecret).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	// The placeholder image may fail to boot; no one may have asked for a
	// stop or a termination.
	if in := d.Reservations[0].Instances[0]; in.StateReason != nil && strings.Contains(aws.ToString(in.StateReason.Code), "UserInitiated") {
		t.Errorf("bob's instance after alice's tries: %s (%s)", in.State.Name, aws.ToString(in.StateReason.Code))
	}
}
