package instances

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/ec2api"
	"github.com/insitu-cloud/insitu/internal/meta"
)

// Face is what the lifecycle reads of the EC2 face's own state (the
// *ec2api.Handler): key pairs, security group rules, tags and the owner
// index.
type Face interface {
	PublicKey(ctx context.Context, account, name string) (string, error)
	IngressRules(ctx context.Context, account, id string) ([]ec2api.Rule, error)
	TagMap(ctx context.Context, account, id string) (map[string]string, error)
	SetTags(ctx context.Context, account, id string, tags []ec2api.Tag) error
	DropTags(ctx context.Context, account, id string) error
	SetOwner(ctx context.Context, id, account string) error
	OwnerOf(ctx context.Context, id string) (string, error)
}

// Config wires a Manager.
type Config struct {
	// KV holds the records (ec2/instances/...), client tokens
	// (ec2/tokens/...) and the address pool (ec2/addr/...). Required.
	KV meta.Store
	// Face is the EC2 face's state. Required.
	Face Face
	// Images looks up and fetches images. Required.
	Images Images
	// Hypervisor starts machines. Default: package vm.
	Hypervisor Hypervisor
	// Accel is the accelerator machines use ("tcg" or "kvm": what
	// vm.Probe chose). Default "tcg".
	Accel string
	// TCGVCPUs, when positive, caps the vCPUs a guest gets under TCG
	// (software emulation): each vCPU is a host thread emulating a CPU,
	// and the second one costs boot time and CPU on a small host. The
	// instance keeps its type's vCPUs in the API (DescribeInstances'
	// CpuOptions, the account's vCPU limit); only the guest sees fewer.
	// Default 0: the type's vCPUs. Ignored under KVM.
	TCGVCPUs int
	// QEMU is the emulator binary. Default: vm's ("qemu-system-x86_64").
	QEMU string
	// DataDir holds one directory per local instance,
	// DataDir/instances/ID. Required.
	DataDir string
	// Net is the address pool. Default DefaultNet (127.100.0.0/16).
	Net netip.Prefix
	// Node is this node's name, written into the records of the
	// instances it runs. Default "local".
	Node string
	// Zone is this node's availability zone. Default "us-east-1a".
	Zone string
	// Zones lists the cloud's zones (Placement.AvailabilityZone must be
	// one). Default: Zone only.
	Zones func(ctx context.Context) ([]string, error)
	// Cluster reaches the other nodes; nil when the node is alone.
	Cluster Cluster
	// MemoryMiB is the memory this node gives instances when alone
	// (in a cluster, each node's free memory counts). Default: the
	// machine's memory.
	MemoryMiB int
	// AccountVCPUs bounds the vCPUs of one account's instances that are
	// not stopped or terminated, as EC2's vCPU limit does: a launch past
	// it is VcpuLimitExceeded (or launches fewer, down to MinCount), so
	// one account cannot take a whole node. Default DefaultAccountVCPUs.
	AccountVCPUs int
	// RelayCommand is the argv the guest's metadata connections run,
	// before the socket path. Default: this executable, "imds-relay".
	RelayCommand []string
	// ReconcileEvery is the period of the converge and forwards loop.
	// Default 1 s.
	ReconcileEvery time.Duration
	// StopGrace is how long Stop waits for an ACPI power-off before a
	// hard stop. Default 10 s.
	StopGrace time.Duration
	// TerminatedTTL is how long a terminated instance stays visible.
	// Default 1 h.
	TerminatedTTL time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the lifecycle's logs. Default slog.Default().
	Logger *slog.Logger
}

// Manager implements ec2api.Instances. It is safe for concurrent use.
// Start adopts the machines left running and starts its loops; Close
// stops its goroutines and drops its hold on the machines (QMP
// connections, metadata servers) without stopping them.
type Manager struct {
	cfg  Config
	log  *slog.Logger
	kv   meta.Store
	pool pool

	ctx    context.Context // the Manager's life: done at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the Manager starts

	launchMu sync.Mutex // one RunInstances places and writes at a time

	mu    sync.Mutex
	local map[string]*local // by instance id: instances this node holds
	once  sync.Once
}

var _ ec2api.Instances = (*Manager)(nil)

// New checks cfg and fills its defaults; call Start before serving.
func New(cfg Config) (*Manager, error) {
	if cfg.KV == nil || cfg.Face == nil || cfg.Images == nil || cfg.DataDir == "" {
		return nil, errors.New("instances: KV, Face, Images and DataDir are required")
	}
	if !cfg.Net.IsValid() {
		cfg.Net = DefaultNet
	}
	if !cfg.Net.Addr().Is4() || cfg.Net.Bits() > 30 {
		return nil, fmt.Errorf("instances: the instance network %s must be IPv4 with room for addresses", cfg.Net)
	}
	cfg.Hypervisor = cmp.Or[Hypervisor](cfg.Hypervisor, vmHypervisor{})
	cfg.Accel = cmp.Or(cfg.Accel, "tcg")
	cfg.Node = cmp.Or(cfg.Node, "local")
	cfg.Zone = cmp.Or(cfg.Zone, "us-east-1a")
	if cfg.Zones == nil {
		zone := cfg.Zone
		cfg.Zones = func(context.Context) ([]string, error) { return []string{zone}, nil }
	}
	if cfg.MemoryMiB <= 0 {
		cfg.MemoryMiB = hostMemoryMiB()
	}
	if len(cfg.RelayCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("instances: find this executable: %w", err)
		}
		cfg.RelayCommand = []string{exe, "imds-relay"}
	}
	cfg.ReconcileEvery = cmp.Or(cfg.ReconcileEvery, time.Second)
	cfg.AccountVCPUs = cmp.Or(cfg.AccountVCPUs, DefaultAccountVCPUs)
	cfg.StopGrace = cmp.Or(cfg.StopGrace, 10*time.Second)
	cfg.TerminatedTTL = cmp.Or(cfg.TerminatedTTL, time.Hour)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	m := &Manager{cfg: cfg, log: cfg.Logger, kv: cfg.KV, pool: pool{kv: cfg.KV, net: cfg.Net},
		local: map[string]*local{}}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if err := os.MkdirAll(m.instancesDir(), 0o700); err != nil {
		return nil, fmt.Errorf("instances: %w", err)
	}
	return m, nil
}

// Start adopts this node's machines that outlived the last process and
// starts the reconcile loop (which also sweeps).
func (m *Manager) Start(ctx context.Context) error {
	if err := m.adoptAll(ctx); err != nil {
		return err
	}
	m.wg.Add(1)
	go m.reconcileLoop()
	return nil
}

// Close stops the Manager's goroutines and waits for them, then closes
// the QMP connections and metadata servers of the local machines, which
// keep running. It is idempotent.
func (m *Manager) Close() error {
	m.once.Do(func() {
		m.mu.Lock()
		m.cancel() // under mu: no goroutine is added past this point
		m.mu.Unlock()
		m.wg.Wait()
		m.mu.Lock()
		defer m.mu.Unlock()
		for id, l := range m.local {
			l.release()
			delete(m.local, id)
		}
	})
	return nil
}

func (m *Manager) instancesDir() string    { return filepath.Join(m.cfg.DataDir, "instances") }
func (m *Manager) dir(id string) string    { return filepath.Join(m.instancesDir(), id) }
func (m *Manager) socket(id string) string { return filepath.Join(m.dir(id), "imds.sock") }
