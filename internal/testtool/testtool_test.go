package testtool

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestNeedFindsACommand(t *testing.T) {
	if p := Need(t, "sh", "dash"); !filepath.IsAbs(p) {
		t.Fatalf("Need(sh) = %q, want an absolute path", p)
	}
}

func TestTinyImageReadsTheManifest(t *testing.T) {
	dir := t.TempDir()
	raw := `{"name": "x", "kernel": "k", "initrd": "i", "root": "r", "cmdline": "quiet"}`
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("INSITU_TINY_IMAGE", dir)
	got, m := TinyImage(t)
	if got != dir || m.Cmdline != "quiet" || !slices.Equal(m.Files(), []string{"manifest.json", "k", "i", "r"}) {
		t.Fatalf("TinyImage = %q %+v", got, m)
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
}
