package ec2api_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
)

// TestAWSCLI drives the face with the real aws CLI: describe-regions,
// create-key-pair, import-key-pair (fileb://, which the CLI
// sends base64-encoded), describe-key-pairs.
func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not installed: skipping the aws CLI test of the EC2 face")
	}
	node := apptest.Start(t, apptest.Options{})
	run := func(args ...string) map[string]any {
		t.Helper()
		args = append([]string{"--endpoint-url", node.Endpoint() + "/services/compute", "--region", node.Region, "--output", "json", "ec2"}, args...)
		cmd := exec.Command("aws", args...)
		cmd.Env = []string{"AWS_ACCESS_KEY_ID=" + node.AccessKey, "AWS_SECRET_ACCESS_KEY=" + node.SecretKey,
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "AWS_") {
				cmd.Env = append(cmd.Env, e)
			}
		}
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return v
	}
	regions := run("describe-regions")["Regions"].([]any)
	if len(regions) != 1 || regions[0].(map[string]any)["RegionName"] != node.Region {
		t.Fatalf("describe-regions: %v", regions)
	}
	kp := run("create-key-pair", "--key-name", "cli", "--key-type", "ed25519")
	if !strings.Contains(kp["KeyMaterial"].(string), "OPENSSH PRIVATE KEY") || !strings.HasPrefix(kp["KeyPairId"].(string), "key-") {
		t.Fatalf("create-key-pair: %v", kp)
	}
	pubFile := filepath.Join(t.TempDir(), "id.pub")
	pub := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdkYW1nZGFtZ2RhbWdkYW1nZGFtZ2RhbWdkYW1nZGFt me@host\n"
	if err := os.WriteFile(pubFile, []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	imp := run("import-key-pair", "--key-name", "imported", "--public-key-material", "fileb://"+pubFile)
	if imp["KeyName"] != "imported" || imp["KeyFingerprint"] == "" {
		t.Fatalf("import-key-pair: %v", imp)
	}
	keys := run("describe-key-pairs", "--key-names", "cli")["KeyPairs"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["KeyName"] != "cli" || keys[0].(map[string]any)["KeyFingerprint"] != kp["KeyFingerprint"] {
		t.Fatalf("describe-key-pairs: %v", keys)
	}
}
