package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ensureOverlay returns the path of dir/disk.qcow2, creating it as a
// qcow2 copy-on-write overlay of s.RootBase (raw) when it does not exist
// yet; an existing overlay is kept, so the guest's writes survive
// Stop/Start. It returns "" when the spec has no root disk.
func ensureOverlay(ctx context.Context, s Spec) (string, error) {
	if s.RootBase == "" {
		return "", nil
	}
	disk := filepath.Join(s.Dir, diskFile)
	if _, err := os.Stat(disk); err == nil {
		return disk, nil
	}
	base, err := filepath.Abs(s.RootBase)
	if err != nil {
		return "", fmt.Errorf("vm: root disk: %w", err)
	}
	if _, err := os.Stat(base); err != nil {
		return "", fmt.Errorf("vm: root disk: %w", err)
	}
	tmp := disk + ".tmp"
	os.Remove(tmp)
	out, err := exec.CommandContext(ctx, qemuImg(s.QEMU), "create", "-q", "-f", "qcow2",
		"-b", base, "-F", "raw", tmp).CombinedOutput()
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("vm: qemu-img create: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if err := os.Rename(tmp, disk); err != nil {
		return "", fmt.Errorf("vm: %w", err)
	}
	return disk, nil
}

// qemuImg is the qemu-img beside the emulator binary, else "qemu-img"
// from PATH.
func qemuImg(qemu string) string {
	if strings.ContainsRune(qemu, filepath.Separator) {
		p := filepath.Join(filepath.Dir(qemu), "qemu-img")
		if _, err := os.Stat(p); err == nil || !errors.Is(err, os.ErrNotExist) {
			return p
		}
	}
	return "qemu-img"
}
