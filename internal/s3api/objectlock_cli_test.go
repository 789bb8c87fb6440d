package s3api_test

import (
	"crypto/md5"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insitu-cloud/insitu/internal/app/apptest"
	"github.com/insitu-cloud/insitu/internal/testtool"
)

// TestObjectLockAWSCLI runs the README's Object Lock commands with the
// real aws CLI, then checks that the locked version refuses deletion.
func TestObjectLockAWSCLI(t *testing.T) {
	aws := testtool.Need(t, "aws", "awscli")
	node := apptest.Start(t, apptest.Options{})
	file := filepath.Join(t.TempDir(), "ledger.csv")
	body := []byte("day,amount\n1,100\n")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(body)
	run := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(aws, append([]string{"--endpoint-url", node.Endpoint(), "--region", node.Region, "--output", "text", "s3api"}, args...)...)
		cmd.Env = []string{"AWS_ACCESS_KEY_ID=" + node.AccessKey, "AWS_SECRET_ACCESS_KEY=" + node.SecretKey,
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "AWS_") {
				cmd.Env = append(cmd.Env, e)
			}
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, args := range [][]string{
		{"create-bucket", "--bucket", "records", "--object-lock-enabled-for-bucket"},
		{"put-object-lock-configuration", "--bucket", "records", "--object-lock-configuration",
			`{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":30}}}`},
		{"put-object", "--bucket", "records", "--key", "ledger.csv", "--body", file, "--object-lock-mode", "COMPLIANCE",
			"--object-lock-retain-until-date", "2099-12-31T00:00:00Z", "--content-md5", base64.StdEncoding.EncodeToString(sum[:])},
		{"put-object-legal-hold", "--bucket", "records", "--key", "ledger.csv", "--legal-hold", "Status=ON"},
	} {
		if out, err := run(args...); err != nil {
			t.Fatalf("aws s3api %s: %v\n%s", args[0], err, out)
		}
	}
	out, err := run("head-object", "--bucket", "records", "--key", "ledger.csv", "--query", "[ObjectLockMode,ObjectLockLegalHoldStatus,VersionId]")
	fields := strings.Fields(out)
	if err != nil || len(fields) != 3 || fields[0] != "COMPLIANCE" || fields[1] != "ON" {
		t.Fatalf("head-object: %v\n%s", err, out)
	}
	out, err = run("delete-object", "--bucket", "records", "--key", "ledger.csv", "--version-id", fields[2], "--bypass-governance-retention")
	if err == nil || !strings.Contains(out, "AccessDenied") {
		t.Fatalf("delete of the locked version: %v\n%s", err, out)
	}
}
