package instances

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// This file stands in for package internal/vm (built in parallel, the
// issue's contract 4) until it is merged: the types the lifecycle passes
// and the methods it calls. At the merge, Forward and Spec become
// vm.Forward and vm.Spec, errNotRunning vm.ErrNotRunning, and
// vmHypervisor calls vm.Start, vm.Adopt and vm.ConsoleTail.

// Forward is one TCP port forwarded from HostIP:HostPort to the guest.
type Forward struct {
	HostIP              string
	HostPort, GuestPort int
}

// Spec is one virtual machine to start (vm.Spec).
type Spec struct {
	Dir            string
	Kernel, Initrd string
	RootBase       string
	Cmdline        string
	MemoryMiB      int
	VCPUs          int
	Accel          string
	Forwards       []Forward
	MetadataCmd    []string
	QEMU           string
}

// Machine is a running virtual machine (*vm.Machine).
type Machine interface {
	PowerDown(ctx context.Context, grace time.Duration) error
	Kill(ctx context.Context) error
	Reset(ctx context.Context) error
	SetForwards(ctx context.Context, fw []Forward) error
	Done() <-chan struct{}
	Close() error
}

// Hypervisor starts and adopts machines (package vm's functions). Tests
// may give a fake one in Config; the default is the vm package.
type Hypervisor interface {
	Start(ctx context.Context, spec Spec, log *slog.Logger) (Machine, error)
	Adopt(ctx context.Context, dir string, log *slog.Logger) (Machine, error)
	ConsoleTail(dir string, max int) ([]byte, error)
}

// ErrNotRunning is what Adopt returns when the machine of a directory is
// gone (vm.ErrNotRunning).
var ErrNotRunning = errors.New("vm: not running")

// haveVM reports whether this build runs real machines (true once
// package vm is merged and this file calls it).
const haveVM = false

// errNoVM is what the placeholder hypervisor answers before the vm
// package is merged.
var errNoVM = errors.New("instances: this build has no virtual machine support (package vm)")

// vmHypervisor is the default Hypervisor: package vm.
type vmHypervisor struct{}

func (vmHypervisor) Start(context.Context, Spec, *slog.Logger) (Machine, error) { return nil, errNoVM }
func (vmHypervisor) Adopt(context.Context, string, *slog.Logger) (Machine, error) {
	return nil, ErrNotRunning
}
func (vmHypervisor) ConsoleTail(string, int) ([]byte, error) { return nil, nil }

// Files are an image's files on this node (images.Files, contract 5).
type Files struct{ Kernel, Initrd, Root, Cmdline string }

// Images is what the lifecycle needs of the image registry (ec2api's
// Handler.Image) and the node's image cache (images.Cache.Fetch).
type Images interface {
	// Check returns nil when account may launch image id, else an
	// *ec2api.Error (InvalidAMIID.NotFound or .Malformed).
	Check(ctx context.Context, account, id string) error
	// Fetch returns the local files of account's image id, downloading
	// them once.
	Fetch(ctx context.Context, account, id string) (Files, error)
}

// Probe chooses the accelerator for mode auto, kvm or tcg (vm.Probe):
// until package vm is merged, TCG always, and kvm is refused.
func Probe(_ context.Context, mode string, _ *slog.Logger) (string, error) {
	switch mode {
	case "", "auto", "tcg":
		return "tcg", nil
	case "kvm":
		return "", errors.New("instances: KVM is not available in this build")
	}
	return "", errors.New("instances: --instance-accel must be auto, kvm or tcg")
}
