package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/testtool"
)

// bootTimeout bounds one boot of the tiny image under TCG on a loaded
// 2-core CI machine (about 3 s when the machine is idle).
const bootTimeout = 3 * time.Minute

// tinyImage returns the built tiny image and its manifest (skipping, or
// failing under INSITU_REQUIRE_TOOLS=1, without QEMU or the image).
func tinyImage(t *testing.T) (string, testtool.Manifest) {
	t.Helper()
	testtool.NeedQEMU(t)
	return testtool.TinyImage(t)
}

// ec2Run is the aws CLI pointed at a node's EC2 face.
type ec2Run struct {
	awsRunner
}

func newEC2Run(t *testing.T, srv *server, ak, sk string) ec2Run {
	return ec2Run{awsRunner{t: t, bin: needTool(t, "aws"), env: toolEnv(t, ak, sk, "AWS_MAX_ATTEMPTS=1"),
		endpoint: srv.Endpoint + "/services/compute"}}
}

// fails runs an ec2 command that must fail with code in its output.
func (a ec2Run) fails(code string, args ...string) {
	a.t.Helper()
	full := append([]string{"--endpoint-url", a.endpoint}, args...)
	out, err := runTool(a.env, toolTimeout, a.bin, full...)
	if err == nil {
		a.t.Errorf("aws %s succeeded, want %s:\n%s", strings.Join(args, " "), code, out)
		return
	}
	if !strings.Contains(err.Error(), code) {
		a.t.Errorf("aws %s: want %s, got %v", strings.Join(args, " "), code, err)
	}
}

type ec2Instance struct {
	InstanceID       string `json:"InstanceId"`
	ImageID          string `json:"ImageId"`
	InstanceType     string
	PublicIPAddress  string `json:"PublicIpAddress"`
	PrivateIPAddress string `json:"PrivateIpAddress"`
	State            struct{ Name string }
	Placement        struct{ AvailabilityZone string }
	Tags             []struct{ Key, Value string }
}

// describe returns the instances DescribeInstances lists for args.
func (a ec2Run) describe(args ...string) []ec2Instance {
	a.t.Helper()
	var out struct {
		Reservations []struct{ Instances []ec2Instance }
	}
	a.json(&out, append([]string{"ec2", "describe-instances"}, args...)...)
	var all []ec2Instance
	for _, r := range out.Reservations {
		all = append(all, r.Instances...)
	}
	return all
}

// waitState polls until instance id is in state, and returns it.
func (a ec2Run) waitState(id, state string, timeout time.Duration) ec2Instance {
	a.t.Helper()
	var last ec2Instance
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		got := a.describe("--instance-ids", id)
		if len(got) == 1 {
			last = got[0]
			if last.State.Name == state {
				return last
			}
		}
	}
	a.t.Fatalf("instance %s not %s within %v (last: %+v)", id, state, timeout, last)
	return last
}

// waitConsole polls GetConsoleOutput until it holds want at least n
// times, and returns the output.
func (a ec2Run) waitConsole(id, want string, n int, timeout time.Duration) string {
	a.t.Helper()
	var out struct{ Output string }
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Second) {
		a.json(&out, "ec2", "get-console-output", "--instance-id", id)
		if strings.Count(out.Output, want) >= n {
			return out.Output
		}
	}
	a.t.Fatalf("console of %s lacks %q ×%d after %v; last 2 KiB:\n%s", id, want, n, timeout, tail(out.Output, 2048))
	return ""
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// page fetches http://ip/ with a short timeout.
func page(ip string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + ip + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %s", resp.Status)
	}
	return string(b), err
}

// waitPage polls http://ip/ until it answers a page holding want.
func waitPage(t *testing.T, ip, want string, timeout time.Duration) {
	t.Helper()
	var body string
	var err error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if body, err = page(ip); err == nil && strings.Contains(body, want) {
			return
		}
	}
	t.Fatalf("http://%s/ did not serve %q within %v: %v %q", ip, want, timeout, err, body)
}

// sshRun runs cmd as root on ip with the key file.
func sshRun(t *testing.T, ip, key, cmd string) string {
	t.Helper()
	ssh := needTool(t, "ssh")
	args := []string{"-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "root@" + ip, cmd}
	var out string
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if out, err = runTool(nil, 60*time.Second, ssh, args...); err == nil {
			return out
		}
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("ssh root@%s %q: %v", ip, cmd, err)
	return ""
}

// killQEMUs stops, at cleanup, every QEMU whose command line names dir:
// instances outlive the insitu process by design.
func killQEMUs(t *testing.T, dir string) {
	t.Cleanup(func() {
		out, _ := exec.Command("pgrep", "-f", "qemu-system-x86_64.*"+dir).Output()
		for _, f := range strings.Fields(string(out)) {
			var pid int
			if _, err := fmt.Sscan(f, &pid); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}

// registerTiny uploads the tiny image to bucket and registers it.
func registerTiny(t *testing.T, a ec2Run, s3 awsRunner, bucket string) string {
	t.Helper()
	dir, man := tinyImage(t)
	s3.run("s3", "mb", "s3://"+bucket)
	args := []string{"s3", "cp", "--no-progress", "--only-show-errors", "--recursive", "--exclude", "*"}
	for _, f := range man.Files() {
		args = append(args, "--include", f)
	}
	s3.run(append(args, dir, "s3://"+bucket+"/images/tiny/")...)
	var reg struct {
		ImageID string `json:"ImageId"`
	}
	a.json(&reg, "ec2", "register-image", "--name", "tiny", "--image-location", bucket+"/images/tiny/manifest.json")
	if !strings.HasPrefix(reg.ImageID, "ami-") {
		t.Fatalf("register-image: ImageId %q", reg.ImageID)
	}
	return reg.ImageID
}

// TestInstancesLifecycle is issue 10's user path with the aws CLI: image
// from a bucket, key pair, security group, run with user data, console,
// the page behind the group's rule, SSH with the created key, a file that
// survives stop/start, tags and filters, a restart of insitu under a
// running instance, terminate, and EC2's errors.
func TestInstancesLifecycle(t *testing.T) {
	t.Parallel()
	tinyImage(t)
	srv := startServer(t, serverOpts{Args: []string{"--instance-accel", "tcg"}})
	killQEMUs(t, srv.opts.DataDir)
	a := newEC2Run(t, srv, rootAK, rootSK)
	s3 := awsRunner{t: t, bin: a.bin, env: a.env, endpoint: srv.Endpoint}
	ami := registerTiny(t, a, s3, "images")

	key := filepath.Join(t.TempDir(), "k.pem")
	pem := a.run("ec2", "create-key-pair", "--key-name", "k", "--query", "KeyMaterial", "--output", "text")
	if err := os.WriteFile(key, []byte(strings.TrimSpace(pem)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var sg struct {
		GroupID string `json:"GroupId"`
	}
	a.json(&sg, "ec2", "create-security-group", "--group-name", "web", "--description", "web and ssh")
	ud := filepath.Join(t.TempDir(), "ud.sh")
	if err := os.WriteFile(ud, []byte("#!/bin/sh\necho USERDATA-$((6*7))\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := runTiny(t, a, ami, sg.GroupID, ud)

	inst := a.waitState(id, "running", bootTimeout)
	if inst.PublicIPAddress == "" || inst.PublicIPAddress != inst.PrivateIPAddress {
		t.Errorf("running instance: public %q private %q, want one pool address", inst.PublicIPAddress, inst.PrivateIPAddress)
	}
	ip := inst.PublicIPAddress
	a.waitConsole(id, "insitu-tiny: ready", 1, bootTimeout)
	a.waitConsole(id, "USERDATA-42", 1, 10*time.Second)

	if body, err := page(ip); err == nil {
		t.Errorf("port 80 answered before any ingress rule: %q", body)
	}
	for _, port := range []string{"80", "22"} {
		a.run("ec2", "authorize-security-group-ingress", "--group-id", sg.GroupID, "--protocol", "tcp", "--port", port, "--cidr", "0.0.0.0/0")
	}
	waitPage(t, ip, id, 15*time.Second)
	sshRun(t, ip, key, "echo kept-across-stop > /root/mark && sync")

	a.run("ec2", "stop-instances", "--instance-ids", id)
	a.waitState(id, "stopped", 2*time.Minute)
	if _, err := page(ip); err == nil {
		t.Errorf("a stopped instance still serves http://%s/", ip)
	}
	a.run("ec2", "start-instances", "--instance-ids", id)
	a.waitState(id, "running", bootTimeout)
	a.waitConsole(id, "insitu-tiny: ready", 2, bootTimeout)
	if got := strings.TrimSpace(sshRun(t, ip, key, "cat /root/mark")); got != "kept-across-stop" {
		t.Errorf("after stop/start /root/mark = %q", got)
	}

	checkFilters(t, a, id, ami)

	// insitu restarts; the instance keeps running and is adopted again.
	srv.Stop()
	waitPage(t, ip, id, 5*time.Second)
	srv.Start()
	a = newEC2Run(t, srv, rootAK, rootSK)
	a.waitState(id, "running", 10*time.Second)
	waitPage(t, ip, id, 5*time.Second)
	a.run("ec2", "reboot-instances", "--instance-ids", id)
	a.waitConsole(id, "insitu-tiny: ready", 3, bootTimeout)

	checkOtherAccount(t, srv, id, ami)

	a.run("ec2", "terminate-instances", "--instance-ids", id)
	a.waitState(id, "terminated", 2*time.Minute)
	if _, err := page(ip); err == nil {
		t.Errorf("a terminated instance still serves http://%s/", ip)
	}
	a.fails("IncorrectInstanceState", "ec2", "start-instances", "--instance-ids", id)
	checkErrors(t, a, ami)
}

// runTiny launches one t3.nano with user data and a tag, and checks that a
// retried call with the same ClientToken returns the same instance.
func runTiny(t *testing.T, a ec2Run, ami, group, userData string) string {
	t.Helper()
	args := []string{"ec2", "run-instances", "--image-id", ami, "--instance-type", "t3.nano", "--key-name", "k",
		"--security-group-ids", group, "--user-data", "file://" + userData, "--client-token", "launch-1",
		"--tag-specifications", "ResourceType=instance,Tags=[{Key=role,Value=web}]"}
	var run, again struct{ Instances []ec2Instance }
	a.json(&run, args...)
	if len(run.Instances) != 1 || !strings.HasPrefix(run.Instances[0].InstanceID, "i-") {
		t.Fatalf("run-instances: %+v", run)
	}
	a.json(&again, args...)
	if len(again.Instances) != 1 || again.Instances[0].InstanceID != run.Instances[0].InstanceID {
		t.Errorf("a retried run-instances with the same ClientToken: %+v, want %s", again, run.Instances[0].InstanceID)
	}
	return run.Instances[0].InstanceID
}

// checkFilters runs DescribeInstances' filters against the one instance.
func checkFilters(t *testing.T, a ec2Run, id, ami string) {
	t.Helper()
	cases := []struct {
		filter string
		want   int
	}{
		{"Name=tag:role,Values=web", 1},
		{"Name=tag:role,Values=db", 0},
		{"Name=tag-key,Values=role", 1},
		{"Name=instance-state-name,Values=running", 1},
		{"Name=instance-state-name,Values=stopped", 0},
		{"Name=image-id,Values=" + ami, 1},
		{"Name=instance-type,Values=t3.nano", 1},
		{"Name=instance-type,Values=t3.large", 0},
		{"Name=instance-id,Values=" + id, 1},
	}
	for _, c := range cases {
		if got := a.describe("--filters", c.filter); len(got) != c.want {
			t.Errorf("describe-instances --filters %s: %d instances, want %d", c.filter, len(got), c.want)
		}
	}
	got := a.describe("--filters", "Name=availability-zone,Values=us-east-1a")
	if len(got) != 1 || got[0].Placement.AvailabilityZone != "us-east-1a" {
		t.Errorf("availability-zone filter: %+v", got)
	}
}

// checkOtherAccount: a second account sees none of root's instance.
func checkOtherAccount(t *testing.T, srv *server, id, ami string) {
	t.Helper()
	out := mustRun(t, toolEnv(t, rootAK, rootSK), toolTimeout, insituBin, "--endpoint", srv.Endpoint,
		"--access-key", rootAK, "--secret-key", rootSK, "admin", "user", "add", "eve", "--json")
	var k struct {
		AccessKey string `json:"access_key"`
		SecretKey string `json:"secret_key"`
	}
	if err := json.Unmarshal([]byte(out), &k); err != nil {
		t.Fatalf("admin user add: %v\n%s", err, out)
	}
	eve := newEC2Run(t, srv, k.AccessKey, k.SecretKey)
	if got := eve.describe(); len(got) != 0 {
		t.Errorf("eve sees %d instances", len(got))
	}
	eve.fails("InvalidInstanceID.NotFound", "ec2", "describe-instances", "--instance-ids", id)
	eve.fails("InvalidInstanceID.NotFound", "ec2", "terminate-instances", "--instance-ids", id)
	eve.fails("InvalidInstanceID.NotFound", "ec2", "get-console-output", "--instance-id", id)
	eve.fails("InvalidAMIID.NotFound", "ec2", "run-instances", "--image-id", ami)
}

// checkErrors: EC2's error codes for bad input.
func checkErrors(t *testing.T, a ec2Run, ami string) {
	t.Helper()
	a.fails("InvalidInstanceID.NotFound", "ec2", "describe-instances", "--instance-ids", "i-0123456789abcdef0")
	a.fails("InvalidInstanceID.Malformed", "ec2", "stop-instances", "--instance-ids", "nonsense")
	a.fails("InvalidAMIID.NotFound", "ec2", "run-instances", "--image-id", "ami-0123456789abcdef0")
	a.fails("MissingParameter", "ec2", "run-instances")
	a.fails("InvalidParameterValue", "ec2", "run-instances", "--image-id", ami, "--instance-type", "z9.huge")
	a.fails("InvalidKeyPair.NotFound", "ec2", "run-instances", "--image-id", ami, "--key-name", "nope")
	a.fails("DryRunOperation", "ec2", "run-instances", "--image-id", ami, "--dry-run")
}
