package vm

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// requireTools reports whether missing tools fail tests instead of
// skipping them (CI sets INSITU_REQUIRE_TOOLS=1).
func requireTools() bool { return os.Getenv("INSITU_REQUIRE_TOOLS") == "1" }

// skipOrFail skips the test with msg, or fails it under
// INSITU_REQUIRE_TOOLS=1.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if requireTools() {
		t.Fatal(msg + "; INSITU_REQUIRE_TOOLS=1 makes this fatal")
	}
	t.Skip(msg + "; set INSITU_REQUIRE_TOOLS=1 to fail instead")
}

// needTool returns the path of name or skips (fails under
// INSITU_REQUIRE_TOOLS=1) when it is not installed.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		skipOrFail(t, fmt.Sprintf("%s not found on PATH (apt-get install %s; .ci/run installs it)", name, pkg))
	}
	return p
}

func needQEMU(t *testing.T) string {
	t.Helper()
	needTool(t, "qemu-img", "qemu-utils")
	return needTool(t, "qemu-system-x86_64", "qemu-system-x86")
}
