package ec2api_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// awsEC2 runs "aws ec2 ARGS" against node as root, returning its JSON
// output, or its stderr when it fails.
func awsEC2(t *testing.T, node *apptest.Node, args ...string) (map[string]any, string, error) {
	t.Helper()
	args = append([]string{"--endpoint-url", node.Endpoint() + "/services/compute", "--region", node.Region, "--output", "json", "ec2"}, args...)
	cmd := exec.Command("aws", args...)
	cmd.Env = []string{"AWS_ACCESS_KEY_ID=" + node.AccessKey, "AWS_SECRET_ACCESS_KEY=" + node.SecretKey,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1"}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "AWS_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, string(ee.Stderr), err
		}
		t.Fatal(err)
	}
	v := map[string]any{}
	if len(strings.TrimSpace(string(out))) > 0 {
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return v, "", nil
}

// TestAWSCLIImages: register-image, describe-images, modify-image-attribute
// and deregister-image with the real aws CLI.
func TestAWSCLIImages(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not installed: skipping the aws CLI test of the EC2 face's images")
	}
	ctx := context.Background()
	node := apptest.Start(t, apptest.Options{})
	putObjects(ctx, t, node.S3("", ""), "imgs", true, tinyObjects("tiny", tinyManifest))
	ok := func(args ...string) map[string]any {
		t.Helper()
		v, stderr, err := awsEC2(t, node, args...)
		if err != nil {
			t.Fatalf("aws ec2 %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return v
	}
	id, _ := ok("register-image", "--name", "tiny", "--image-location", "imgs/tiny/manifest.json")["ImageId"].(string)
	if !strings.HasPrefix(id, "ami-") {
		t.Fatalf("register-image: image id %q", id)
	}
	imgs := ok("describe-images", "--owners", "self")["Images"].([]any)
	if len(imgs) != 1 || imgs[0].(map[string]any)["ImageId"] != id || imgs[0].(map[string]any)["State"] != "available" {
		t.Fatalf("describe-images: %v", imgs)
	}
	ok("modify-image-attribute", "--image-id", id, "--launch-permission", "Add=[{Group=all}]")
	imgs = ok("describe-images", "--image-ids", id)["Images"].([]any)
	if len(imgs) != 1 || imgs[0].(map[string]any)["Public"] != true {
		t.Fatalf("describe-images of a public image: %v", imgs)
	}
	ok("deregister-image", "--image-id", id)
	_, stderr, err := awsEC2(t, node, "describe-images", "--image-ids", id)
	if err == nil || !strings.Contains(stderr, "InvalidAMIID.NotFound") {
		t.Fatalf("describe-images of a deregistered image: %v, %s", err, stderr)
	}
}
