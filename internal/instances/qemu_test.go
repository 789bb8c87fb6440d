package instances_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// registerTiny puts the tiny image (`make images`: $INSITU_TINY_IMAGE,
// else examples/images/tiny of the module) into a bucket and registers
// it, returning its AMI id.
func registerTiny(ctx context.Context, t *testing.T, n *apptest.Node, c *ec2.Client) string {
	t.Helper()
	dir, man := testtool.TinyImage(t)
	s3c := n.S3(n.AccessKey, n.SecretKey)
	must[*s3.CreateBucketOutput](t)(s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("images")}))
	for _, f := range man.Files() {
		body, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		must[*s3.PutObjectOutput](t)(s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"),
			Key: aws.String("tiny/" + f), Body: bytes.NewReader(body)}))
	}
	reg := must[*ec2.RegisterImageOutput](t)(c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("tiny"),
		ImageLocation: aws.String("images/tiny/manifest.json")}))
	return aws.ToString(reg.ImageId)
}

// console returns the instance's console so far.
func console(ctx context.Context, t *testing.T, c *ec2.Client, id string) string {
	t.Helper()
	out := must[*ec2.GetConsoleOutputOutput](t)(c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: &id}))
	b, _ := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
	return string(b)
}

func waitConsole(ctx context.Context, t *testing.T, c *ec2.Client, id, marker string, after int) string {
	t.Helper()
	var con string
	deadline := time.Now().Add(90 * time.Second)
	for {
		if con = console(ctx, t, c, id); strings.Contains(con[min(after, len(con)):], marker) {
			return con
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q on the console:\n%s", marker, con)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// page GETs http://ip/ (the guest's page).
func page(ip string) (string, error) {
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + ip + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestRealMachine boots the tiny image under QEMU through the lifecycle,
// from its objects in a bucket (RegisterImage, the node's image cache):
// user data on the console, the page (with the instance id the guest read
// from its metadata) on the instance's address once port 80 is allowed,
// the machine running on through a restart of the node, stop and start
// on the same disk, terminate.
func TestRealMachine(t *testing.T) {
	testtool.NeedQEMU(t)
	ctx := context.Background()
	configure := func(c *app.Config) { c.Instances.Accel = "tcg" }
	n := apptest.Start(t, apptest.Options{Configure: configure})
	c := ec2Client(n, n.AccessKey, n.SecretKey)
	ami := registerTiny(ctx, t, n, c)
	sg := must[*ec2.CreateSecurityGroupOutput](t)(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("web"), Description: aws.String("web")})).GroupId
	in := runInput()
	in.ImageId = &ami
	in.SecurityGroupIds = []string{*sg}
	in.UserData = b64("#!/bin/sh\necho hello-from-user-data\n")
	run := must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, in))
	id, ip := aws.ToString(run.Instances[0].InstanceId), aws.ToString(run.Instances[0].PublicIpAddress)
	t.Cleanup(func() { // no machine outlives the test, whatever failed
		_, _ = c.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		for range 100 {
			out, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
			if err != nil || out.Reservations[0].Instances[0].State.Name == types.InstanceStateNameTerminated {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	waitState(ctx, t, c, id, types.InstanceStateNameRunning)
	con := waitConsole(ctx, t, c, id, "insitu-tiny: ready", 0)
	waitConsole(ctx, t, c, id, "hello-from-user-data", 0)
	if _, err := net.DialTimeout("tcp", ip+":80", time.Second); err == nil {
		t.Fatal("port 80 answers before any rule allows it")
	}
	must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: sg, IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), CidrIp: aws.String("0.0.0.0/0")}))
	waitFor(t, "the page with the instance id", func() bool { body, err := page(ip); return err == nil && strings.Contains(body, id) })

	// The node restarts; the machine runs on and is adopted.
	dataDir := n.DataDir
	n.Stop()
	if body, err := page(ip); err != nil || !strings.Contains(body, id) {
		t.Fatalf("the page while the node is down: %v", err)
	}
	n = apptest.Start(t, apptest.Options{DataDir: dataDir, Configure: configure})
	c = ec2Client(n, n.AccessKey, n.SecretKey)
	if got := waitState(ctx, t, c, id, types.InstanceStateNameRunning); got.StateReason != nil {
		t.Fatalf("after the restart: %+v", got.StateReason)
	}

	must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}))
	waitState(ctx, t, c, id, types.InstanceStateNameStopped)
	must[*ec2.StartInstancesOutput](t)(c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}))
	waitState(ctx, t, c, id, types.InstanceStateNameRunning)
	waitConsole(ctx, t, c, id, "insitu-tiny: ready", len(con))
	waitFor(t, "the page after a start", func() bool { body, err := page(ip); return err == nil && strings.Contains(body, id) })
	must[*ec2.TerminateInstancesOutput](t)(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}))
	waitState(ctx, t, c, id, types.InstanceStateNameTerminated)
	if _, err := page(ip); err == nil {
		t.Fatal("the page answers after terminate")
	}
}
