package vm

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
)

// Forward is one TCP port forwarded from HostIP:HostPort on the host to
// GuestPort in the guest (a slirp hostfwd). Its key is HostIP:HostPort.
type Forward struct {
	HostIP    string `json:"hostIP"`
	HostPort  int    `json:"hostPort"`
	GuestPort int    `json:"guestPort"`
}

func (f Forward) key() string { return fmt.Sprintf("%s:%d", f.HostIP, f.HostPort) }

// rule is the hostfwd rule text QEMU parses: tcp:HOSTIP:PORT-:GUESTPORT.
func (f Forward) rule() string { return fmt.Sprintf("tcp:%s-:%d", f.key(), f.GuestPort) }

// Spec describes one machine. Start fills in defaults (QEMU) and checks
// the rest; it does not modify the caller's Spec.
type Spec struct {
	// Dir is the instance's directory, created if missing. It holds
	// disk.qcow2, console.log, qemu.log, qmp.sock, qemu.pid and
	// forwards.json. Its absolute path must be short enough for a unix
	// socket path (qmp.sock, at most 107 bytes) and must not contain
	// spaces (slirp splits commands on spaces).
	Dir string
	// Kernel and Initrd are file paths. An empty Kernel boots the
	// machine's firmware alone (nothing runs; useful in tests).
	Kernel, Initrd string
	// RootBase is an optional raw base disk. The overlay Dir/disk.qcow2
	// backed by it is created on the first Start and kept across
	// PowerDown/Start, so writes persist while the base stays untouched.
	RootBase string
	// Cmdline is the image's kernel command line; vm appends
	// "console=ttyS0 panic=-1 insitu.ip=169.254.0.15:169.254.0.2:255.255.0.0"
	// (the guest's fixed address, gateway and mask on slirp's network)
	// and, under TCG, tsc_early_khz=HOST.
	Cmdline string
	// MemoryMiB and VCPUs size the machine; both must be positive.
	MemoryMiB, VCPUs int
	// Accel is "tcg" or "kvm" (what Probe returned).
	Accel string
	// Forwards are the TCP ports forwarded into the guest at start.
	Forwards []Forward
	// MetadataCmd is the argv slirp runs for each guest connection to
	// 169.254.169.254:80; empty: none. No element may contain a space,
	// and the command must write nothing but the reply (its stderr is
	// the connection too).
	MetadataCmd []string
	// QEMU is the emulator binary; default "qemu-system-x86_64". qemu-img
	// is looked for next to it, then on PATH.
	QEMU string
}

// Accelerators Spec.Accel and Probe use.
const (
	AccelTCG = "tcg"
	AccelKVM = "kvm"
)

// maxSocketPath is the longest unix socket path Linux accepts.
const maxSocketPath = 107

// normalize returns a copy of s with defaults applied and Dir made
// absolute, or an error naming the first bad field.
func (s Spec) normalize() (Spec, error) {
	if s.QEMU == "" {
		s.QEMU = "qemu-system-x86_64"
	}
	if s.Dir == "" {
		return s, errors.New("vm: Spec.Dir is required")
	}
	dir, err := filepath.Abs(s.Dir)
	if err != nil {
		return s, fmt.Errorf("vm: Spec.Dir: %w", err)
	}
	s.Dir = dir
	if strings.ContainsAny(dir, " \t\n") || len(filepath.Join(dir, qmpFile)) > maxSocketPath {
		return s, fmt.Errorf("vm: Spec.Dir %q must have no spaces and a qmp.sock path of at most %d bytes", dir, maxSocketPath)
	}
	if s.MemoryMiB <= 0 || s.VCPUs <= 0 {
		return s, fmt.Errorf("vm: MemoryMiB (%d) and VCPUs (%d) must be positive", s.MemoryMiB, s.VCPUs)
	}
	if s.Accel != AccelTCG && s.Accel != AccelKVM {
		return s, fmt.Errorf("vm: Accel %q: want %q or %q", s.Accel, AccelTCG, AccelKVM)
	}
	if s.Initrd != "" && s.Kernel == "" {
		return s, errors.New("vm: Initrd given without Kernel")
	}
	for _, a := range s.MetadataCmd {
		if a == "" || strings.ContainsAny(a, " \t\n") {
			return s, fmt.Errorf("vm: MetadataCmd element %q: must be non-empty without spaces", a)
		}
	}
	return s, checkForwards(s.Forwards)
}

// checkForwards refuses a bad address or port and two forwards of one
// host address and port.
func checkForwards(fw []Forward) error {
	seen := make(map[string]bool, len(fw))
	for _, f := range fw {
		ip, err := netip.ParseAddr(f.HostIP)
		if err != nil || !ip.Is4() {
			return fmt.Errorf("vm: forward host address %q: want an IPv4 address", f.HostIP)
		}
		if f.HostPort < 1 || f.HostPort > 65535 || f.GuestPort < 1 || f.GuestPort > 65535 {
			return fmt.Errorf("vm: forward %s -> %d: ports must be 1..65535", f.key(), f.GuestPort)
		}
		if seen[f.key()] {
			return fmt.Errorf("vm: forward %s given twice", f.key())
		}
		seen[f.key()] = true
	}
	return nil
}
