package cli

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/client"
)

// TestE2EImages: "image register" from objects uploaded with "cp",
// "image ls" (table and JSON), errors in EC2's code and message, another
// account seeing none of it, "image rm".
func TestE2EImages(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	isolateEnv(t)
	node := apptest.Start(t, apptest.Options{})
	c := newCLI(t, node)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "manifest.json"), []byte(`{"name": "tiny", "kernel": "vmlinuz", "initrd": "initrd.img", "root": "root.img", "cmdline": "quiet"}`))
	for _, f := range []string{"vmlinuz", "initrd.img", "root.img"} {
		writeFile(t, filepath.Join(dir, f), randomBytes(t, 4096))
	}
	c.ok("mb", "s3://imgs")
	for _, f := range []string{"manifest.json", "vmlinuz", "initrd.img", "root.img"} {
		c.ok("cp", filepath.Join(dir, f), "s3://imgs/tiny/"+f)
	}
	id := strings.TrimSpace(c.ok("image", "register", "imgs/tiny/manifest.json", "--name", "tiny", "--description", "a tiny guest"))
	if !regexp.MustCompile(`^ami-[0-9a-f]{17}$`).MatchString(id) {
		t.Fatalf("image register printed %q", id)
	}
	out := c.ok("image", "ls")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], id) || !strings.Contains(lines[1], " tiny ") || !strings.Contains(lines[1], "imgs/tiny/manifest.json") {
		t.Fatalf("image ls:\n%s", out)
	}
	var listed struct{ Images []imageJSON }
	if err := json.Unmarshal([]byte(c.ok("image", "ls", "--json", "--mine")), &listed); err != nil || len(listed.Images) != 1 ||
		listed.Images[0] != (imageJSON{ID: id, Name: "tiny", Owner: "root", State: "available", Created: listed.Images[0].Created,
			Location: "imgs/tiny/manifest.json", Description: "a tiny guest"}) {
		t.Fatalf("image ls --json: %+v, %v", listed, err)
	}
	c.fails("image register: InvalidAMIName.Duplicate: ", "image", "register", "s3://imgs/tiny/manifest.json", "--name", "tiny")
	c.fails("image register: InvalidParameterValue: Invalid ImageLocation 'imgs/none.json': no such object", "image", "register", "imgs/none.json", "--name", "none")
	if code, _, errOut := c.run("", "image", "register", "imgs/tiny/manifest.json"); code != ExitUsage || !strings.Contains(errOut, "--name is required") {
		t.Fatalf("register without --name: exit %d, %q", code, errOut)
	}

	admin, err := client.New(client.Config{Endpoint: node.Endpoint(), AccessKey: node.AccessKey, SecretKey: node.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	k, err := admin.CreateUser(t.Context(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	bob := c.as(k.AccessKey, k.SecretKey)
	if out := bob.ok("image", "ls", "--json"); strings.TrimSpace(out) != `{
  "images": []
}` {
		t.Fatalf("another account's image ls: %s", out)
	}
	bob.fails("image register: InvalidParameterValue: Invalid ImageLocation 'imgs/tiny/manifest.json': the bucket imgs does not exist or is not yours",
		"image", "register", "imgs/tiny/manifest.json", "--name", "mine")
	bob.fails("image rm "+id+": InvalidAMIID.NotFound: ", "image", "rm", id)
	c.ok("image", "public", id)
	if out := bob.ok("image", "ls"); !strings.Contains(out, id) || !strings.Contains(out, " true ") {
		t.Fatalf("another account's image ls of a public image:\n%s", out)
	}
	if out := bob.ok("image", "ls", "--mine"); strings.Contains(out, id) {
		t.Fatalf("image ls --mine shows another's public image:\n%s", out)
	}
	bob.fails("image public "+id+": UnauthorizedOperation: ", "image", "public", "--off", id)
	c.ok("image", "public", "--off", id)
	if out := bob.ok("image", "ls"); strings.Contains(out, id) {
		t.Fatalf("a private image again is listed for another account:\n%s", out)
	}

	c.ok("image", "rm", id)
	if out := c.ok("image", "ls"); strings.Contains(out, id) {
		t.Fatalf("a deregistered image is listed:\n%s", out)
	}
}

// TestE2EInstancesNoVMs: "instance ls" on an account with no instances,
// and the EC2 errors of "instance run" and "console" shown as code and
// message. A node may or may not run virtual machines (ec2api answers
// UnsupportedOperation when it does not); either way the answer must be
// EC2's error for an unknown image or instance, or that one.
func TestE2EInstancesNoVMs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	isolateEnv(t)
	node := apptest.Start(t, apptest.Options{})
	c := newCLI(t, node)
	wantErr := regexp.MustCompile(`^insitu: (instance run: (InvalidAMIID.NotFound|UnsupportedOperation)|instance (console|stop|terminate): (InvalidInstanceID.NotFound|UnsupportedOperation)): \S.*\n$`)
	code, out, errOut := c.run("", "instance", "ls", "--json")
	switch {
	case code == 0:
		if strings.TrimSpace(out) != "{\n  \"instances\": []\n}" {
			t.Fatalf("instance ls --json on an empty account: %q", out)
		}
		if out := c.ok("instance", "ls"); strings.TrimSpace(out) != "ID  STATE  TYPE  ZONE  PUBLIC IP  IMAGE  LAUNCHED" {
			t.Fatalf("instance ls on an empty account: %q", out)
		}
	case !strings.HasPrefix(errOut, "insitu: instance ls: UnsupportedOperation: "):
		t.Fatalf("instance ls: exit %d, %q", code, errOut)
	}
	for _, args := range [][]string{
		{"instance", "run", "--image", "ami-0123456789abcdef0", "--count", "2", "--group", "sg-01234567890abcdef"},
		{"instance", "console", "i-0123456789abcdef0"},
		{"instance", "stop", "--wait", "i-0123456789abcdef0"},
		{"instance", "terminate", "i-0123456789abcdef0", "i-0123456789abcdef1"},
	} {
		code, _, errOut := c.run("", args...)
		if code != ExitError || !wantErr.MatchString(errOut) {
			t.Errorf("insitu %s: exit %d, %q", strings.Join(args, " "), code, errOut)
		}
	}
	if code, _, errOut := c.run("", "instance", "run"); code != ExitUsage || !strings.Contains(errOut, "--image is required") {
		t.Errorf("instance run without --image: exit %d, %q", code, errOut)
	}
}
