package instances

import (
	"context"
	"log/slog"
	"time"

	"github.com/insitu-cloud/insitu/internal/vm"
)

// The lifecycle's view of package vm (the contract 4): the types
// it passes, the methods it calls, and the Hypervisor seam that lets the
// state-machine tests run without QEMU.

// Forward is one TCP port forwarded from HostIP:HostPort to the guest.
type Forward = vm.Forward

// Spec is one virtual machine to start.
type Spec = vm.Spec

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
// gone.
var ErrNotRunning = vm.ErrNotRunning

// vmHypervisor is the default Hypervisor: package vm.
type vmHypervisor struct{}

func (vmHypervisor) Start(ctx context.Context, spec Spec, log *slog.Logger) (Machine, error) {
	m, err := vm.Start(ctx, spec, log)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return m, nil
}

func (vmHypervisor) Adopt(ctx context.Context, dir string, log *slog.Logger) (Machine, error) {
	m, err := vm.Adopt(ctx, dir, log)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (vmHypervisor) ConsoleTail(dir string, max int) ([]byte, error) { return vm.ConsoleTail(dir, max) }

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

// Probe chooses the accelerator for mode auto, kvm or tcg (vm.Probe).
func Probe(ctx context.Context, mode string, log *slog.Logger) (string, error) {
	return vm.Probe(ctx, mode, log)
}
