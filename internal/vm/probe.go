package vm

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// probeTimeout bounds the probe boot.
const probeTimeout = 3 * time.Second

// Probe picks the accelerator for mode: "tcg" answers "tcg"; "kvm"
// answers "kvm" when KVM works here and an error saying why not
// otherwise; "auto" (or "") answers "kvm" when KVM works, else "tcg". KVM works
// when /dev/kvm opens read-write, /proc/cpuinfo lists vmx or svm (a
// nested paravirtual /dev/kvm without them cannot run stock kernels),
// and a probe boot under -accel kvm (a 64 KiB firmware that writes "OK"
// to the serial port) prints within 3 s. Probe runs QEMU
// (qemu-system-x86_64 from PATH) at most once; it is safe for concurrent
// use.
func Probe(ctx context.Context, mode string, log *slog.Logger) (string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch mode {
	case AccelTCG:
		return AccelTCG, nil
	case AccelKVM, "auto", "":
	default:
		return "", fmt.Errorf("vm: accelerator mode %q: want auto, kvm or tcg", mode)
	}
	err := kvmWorks(ctx, "qemu-system-x86_64")
	if err == nil {
		log.Info("vm accelerator", "mode", mode, "accel", AccelKVM)
		return AccelKVM, nil
	}
	if mode == AccelKVM {
		return "", err
	}
	log.Info("vm accelerator", "mode", cmp.Or(mode, "auto"), "accel", AccelTCG, "kvm", err.Error())
	return AccelTCG, nil
}

// kvmWorks checks /dev/kvm, the CPU flags and a probe boot, in that order.
func kvmWorks(ctx context.Context, qemu string) error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("vm: KVM unusable: %w", err)
	}
	f.Close()
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return fmt.Errorf("vm: KVM unusable: %w", err)
	}
	if !hasVirtFlag(info) {
		return errors.New("vm: KVM unusable: the CPU lists neither vmx nor svm (a nested or paravirtual /dev/kvm)")
	}
	if err := probeBoot(ctx, qemu, AccelKVM, probeTimeout); err != nil {
		return fmt.Errorf("vm: KVM unusable: %w", err)
	}
	return nil
}

// hasVirtFlag reports whether a cpuinfo "flags" line has vmx or svm.
func hasVirtFlag(cpuinfo []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "flags" {
			fl := strings.Fields(v)
			return slices.Contains(fl, "vmx") || slices.Contains(fl, "svm")
		}
	}
	return false
}

// probeROM is a 64 KiB firmware whose reset vector (the last 16 bytes,
// run in real mode at F000:FFF0) writes "OK\n" to COM1 and halts.
func probeROM() []byte {
	rom := make([]byte, 64<<10)
	code := []byte{
		0xBA, 0xF8, 0x03, // mov dx, 0x3f8
		0xB0, 'O', 0xEE, // mov al, 'O'; out dx, al
		0xB0, 'K', 0xEE, // mov al, 'K'; out dx, al
		0xB0, '\n', 0xEE, // mov al, '\n'; out dx, al
		0xF4,       // hlt
		0xEB, 0xFD, // jmp back to hlt
	}
	copy(rom[len(rom)-16:], code)
	return rom
}

// probeBoot runs the probe firmware under accel and waits up to timeout
// for "OK" on the serial port.
func probeBoot(ctx context.Context, qemu, accel string, timeout time.Duration) error {
	dir, err := os.MkdirTemp("", "insitu-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rom := filepath.Join(dir, "probe.rom")
	if err := os.WriteFile(rom, probeROM(), 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-M", "microvm", "-accel", accel, "-m", "16M",
		"-nodefaults", "-no-user-config", "-display", "none", "-bios", rom, "-serial", "stdio")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("probe boot: %w", err)
	}
	got, _ := io.ReadAll(io.LimitReader(&untilOK{r: out}, 4096))
	cancel() // stop QEMU whether or not it printed
	cmd.Wait()
	if !bytes.Contains(got, []byte("OK")) {
		return fmt.Errorf("probe boot under %s printed %q within %s; qemu: %s", accel, got, timeout, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// untilOK reads r until it has seen "OK", then reports EOF.
type untilOK struct {
	r    io.Reader
	seen []byte
}

func (u *untilOK) Read(p []byte) (int, error) {
	if bytes.Contains(u.seen, []byte("OK")) {
		return 0, io.EOF
	}
	n, err := u.r.Read(p)
	u.seen = append(u.seen, p[:n]...)
	return n, err
}
