package ui_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/chromedp"

	"github.com/insitu-cloud/insitu/internal/app"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// TestBrowserInstance launches the tiny image (`make images`) under QEMU
// from the instances page, watches its page until the guest is running and
// its console says it is ready, screenshots it, terminates it from the
// page and finds no QEMU of the node left. A boot under TCG takes about
// 3 s on an idle machine, so this runs in `make test`.
func TestBrowserInstance(t *testing.T) {
	testtool.NeedQEMU(t)
	imgDir, man := testtool.TinyImage(t)
	ctx := newChromium(t)
	e := start(t, false, func(c *app.Config) { c.Instances.Accel = "tcg" })
	dir := shots(t)
	base := e.node.Endpoint()
	ami := e.registerTiny(t, imgDir, man)
	began := time.Now()

	do(t, ctx, "sign in", chromedp.Navigate(base+"/ui/login"), chromedp.WaitVisible(chromedp.CSS("#signin")),
		chromedp.SendKeys(chromedp.CSS("#access_key"), e.node.AccessKey),
		chromedp.SendKeys(chromedp.CSS("#secret_key"), e.node.SecretKey),
		chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("#under")))
	do(t, ctx, "launch", chromedp.Navigate(base+"/ui/instances"), chromedp.WaitVisible(chromedp.CSS("#launch-form")),
		chromedp.SetValue(chromedp.CSS(`#launch-form input[name="type"]`), "t3.nano"),
		chromedp.SendKeys(chromedp.CSS("#launch-image"), ami),
		chromedp.SendKeys(chromedp.CSS(`#launch-form textarea[name="user_data"]`), "#!/bin/sh\necho hello-from-the-dashboard\n"),
		chromedp.Click(chromedp.CSS("#launch")), chromedp.WaitVisible(chromedp.CSS("#instance-state")))
	id := strings.TrimPrefix(waitString(t, ctx, `location.pathname`), "/ui/instances/")
	if !strings.HasPrefix(id, "i-") {
		t.Fatalf("after the launch the browser is at %q", id)
	}
	t.Cleanup(func() { e.terminate(t, id) }) // no machine outlives the test, whatever failed
	reloadUntil(t, ctx, `document.getElementById("instance-state").textContent == "running" &&
		document.getElementById("console").textContent.includes("hello-from-the-dashboard")`)
	t.Logf("running, console ready: %s after the image was registered", time.Since(began).Round(time.Millisecond))
	shoot(t, ctx, dir, "instance")
	if pids := qemuOf(e.node.DataDir); len(pids) != 1 { // the check below sees what it looks for
		t.Errorf("QEMU processes of the node while running: %v, want one", pids)
	}

	do(t, ctx, "terminate", chromedp.Click(chromedp.CSS("#instance-terminate")), chromedp.WaitVisible(chromedp.CSS("#instance-state")))
	reloadUntil(t, ctx, `document.getElementById("instance-state").textContent.startsWith("terminated")`)
	t.Logf("terminated: %s after the image was registered", time.Since(began).Round(time.Millisecond))
	shoot(t, ctx, dir, "instance-terminated")
	if pids := qemuOf(e.node.DataDir); len(pids) != 0 {
		t.Errorf("QEMU processes of the node after terminate: %v", pids)
	}
}

// reloadUntil reloads the current page until expr is true, for up to 3
// minutes (a TCG boot on a loaded 2-core machine).
func reloadUntil(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
		time.Sleep(500 * time.Millisecond)
		_ = chromedp.Do(ctx, chromedp.Reload())
	}
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	t.Fatalf("waited 3 minutes for %s; the page:\n%s", expr, body)
}

// registerTiny uploads the tiny image's files to a root bucket and
// registers it, returning its AMI id.
func (e *env) registerTiny(t *testing.T, dir string, man testtool.Manifest) string {
	t.Helper()
	ctx := context.Background()
	e.mkBucket(t, e.node.AccessKey, e.node.SecretKey, "images")
	for _, f := range man.Files() {
		body, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.node.S3(e.node.AccessKey, e.node.SecretKey).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("images"),
			Key: aws.String("tiny/" + f), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.ec2As(e.node.AccessKey, e.node.SecretKey).RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("tiny"),
		ImageLocation: aws.String("images/tiny/manifest.json")})
	if err != nil {
		t.Fatalf("register the tiny image: %v", err)
	}
	return aws.ToString(out.ImageId)
}

// terminate ends root's instance id through the EC2 face and waits (up to
// a minute) for it to be terminated.
func (e *env) terminate(t *testing.T, id string) {
	c := e.ec2As(e.node.AccessKey, e.node.SecretKey)
	ctx := context.Background()
	_, _ = c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	for range 600 {
		out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil || len(out.Reservations) == 0 || out.Reservations[0].Instances[0].State.Name == types.InstanceStateNameTerminated {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("instance %s not terminated after a minute", id)
}

// qemuOf returns the pids of QEMU processes whose command line names a
// path under dataDir (the node's machines).
func qemuOf(dataDir string) []string {
	var pids []string
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		cmd, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte("qemu-system")) {
			continue
		}
		if bytes.Contains(cmd, []byte(dataDir)) {
			pids = append(pids, ent.Name())
		}
	}
	return pids
}
