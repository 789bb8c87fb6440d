// Package testtool is for tests that need something installed or built
// outside Go: QEMU, an apt package's command, the tiny guest image. Where
// it is missing such a test skips, saying what to install, except under
// INSITU_REQUIRE_TOOLS=1 (as .ci/run sets it), where it fails: CI must
// run every test, not skip it. It also holds checks of the machine's own
// state that several packages' tests make (pagecache.go: which pages of a
// file are in the page cache).
package testtool

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Required reports whether a missing tool fails the test instead of
// skipping it (INSITU_REQUIRE_TOOLS=1).
func Required() bool { return os.Getenv("INSITU_REQUIRE_TOOLS") == "1" }

// Missing skips the test with msg, or fails it under Required.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if Required() {
		t.Fatal(msg + "; INSITU_REQUIRE_TOOLS=1 makes this fatal")
	}
	t.Skip(msg + "; set INSITU_REQUIRE_TOOLS=1 to fail instead")
}

// Need returns the path of the command name, from the Debian package pkg,
// or calls Missing when it is not on PATH.
func Need(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, fmt.Sprintf("%s not found on PATH (apt-get install %s; .ci/run installs it)", name, pkg))
	}
	return p
}

// NeedQEMU returns the path of qemu-system-x86_64 after checking that
// qemu-img is there too.
func NeedQEMU(t testing.TB) string {
	t.Helper()
	Need(t, "qemu-img", "qemu-utils")
	return Need(t, "qemu-system-x86_64", "qemu-system-x86")
}

// Manifest is an image's manifest.json: file names relative to it.
type Manifest struct {
	Name, Kernel, Initrd, Root, Cmdline string
}

// Files are the manifest and the files it names, in upload order.
func (m Manifest) Files() []string {
	return []string{"manifest.json", m.Kernel, m.Initrd, m.Root}
}

// TinyImage returns the directory of the tiny guest image built by `make
// images` ($INSITU_TINY_IMAGE, else examples/images/tiny of this module)
// and its manifest. It calls Missing when the image is not built.
func TinyImage(t testing.TB) (string, Manifest) {
	t.Helper()
	dir := os.Getenv("INSITU_TINY_IMAGE")
	if dir == "" {
		root, err := ModuleRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "examples", "images", "tiny")
	}
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		Missing(t, fmt.Sprintf("the tiny image is not built (%v): run make images", err))
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s/manifest.json: %v", dir, err)
	}
	return dir, m
}

// ModuleRoot walks up from the working directory to the one with go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testtool: no go.mod above the working directory")
		}
		dir = parent
	}
}
