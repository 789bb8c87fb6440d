package instances

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// FakeHypervisor stands for QEMU in the tests of the state machine,
// listings, tokens and errors (the real machines are tested with package
// vm): a machine "runs" from Start until PowerDown, Kill or Exit, and
// keeps the forwards it was last given. It writes the console file a
// real machine would, so GetConsoleOutput reads a real file.
type FakeHypervisor struct {
	mu       sync.Mutex
	machines map[string]*FakeMachine // by Dir
	starts   int
	// FailStart, when set, makes Start fail.
	FailStart error
}

// NewFakeHypervisor returns a hypervisor with no machines.
func NewFakeHypervisor() *FakeHypervisor {
	return &FakeHypervisor{machines: map[string]*FakeMachine{}}
}

// FakeMachine is one fake machine.
type FakeMachine struct {
	Spec   Spec
	mu     sync.Mutex
	fw     []Forward
	resets int
	by     string // "powerdown" or "kill": what ended it first
	done   chan struct{}
	once   sync.Once
}

func (h *FakeHypervisor) Start(_ context.Context, spec Spec, _ *slog.Logger) (Machine, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.FailStart != nil {
		return nil, h.FailStart
	}
	if m := h.machines[spec.Dir]; m != nil && !m.Exited() {
		return nil, errors.New("fake: a machine runs for " + spec.Dir)
	}
	if err := os.WriteFile(filepath.Join(spec.Dir, "console.log"), []byte("booted "+filepath.Base(spec.Dir)+"\n"), 0o600); err != nil {
		return nil, err
	}
	m := &FakeMachine{Spec: spec, fw: slices.Clone(spec.Forwards), done: make(chan struct{})}
	h.machines[spec.Dir] = m
	h.starts++
	return m, nil
}

func (h *FakeHypervisor) Adopt(_ context.Context, dir string, _ *slog.Logger) (Machine, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m := h.machines[dir]; m != nil && !m.Exited() {
		return m, nil
	}
	return nil, ErrNotRunning
}

func (h *FakeHypervisor) ConsoleTail(dir string, max int) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, "console.log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return b, err
}

// Machine returns the machine of an instance directory's base name (nil
// when none ran).
func (h *FakeHypervisor) Machine(id string) *FakeMachine {
	h.mu.Lock()
	defer h.mu.Unlock()
	for dir, m := range h.machines {
		if filepath.Base(dir) == id {
			return m
		}
	}
	return nil
}

// Starts counts the machines started.
func (h *FakeHypervisor) Starts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.starts
}

func (m *FakeMachine) PowerDown(context.Context, time.Duration) error { m.end("powerdown"); return nil }
func (m *FakeMachine) Kill(context.Context) error                     { m.end("kill"); return nil }

func (m *FakeMachine) end(by string) {
	m.mu.Lock()
	if m.by == "" {
		m.by = by
	}
	m.mu.Unlock()
	m.Exit()
}

// EndedBy is what ended the machine: "powerdown", "kill" or "" (an Exit
// of its own, or still running).
func (m *FakeMachine) EndedBy() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.by
}
func (m *FakeMachine) Reset(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resets++
	return nil
}
func (m *FakeMachine) SetForwards(_ context.Context, fw []Forward) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fw = slices.Clone(fw)
	return nil
}
func (m *FakeMachine) Done() <-chan struct{} { return m.done }
func (m *FakeMachine) Close() error          { return nil }

// Exit ends the machine, as a guest power-off does.
func (m *FakeMachine) Exit() { m.once.Do(func() { close(m.done) }) }

// Exited reports whether the machine has ended.
func (m *FakeMachine) Exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// Forwards returns the machine's forwards now.
func (m *FakeMachine) Forwards() []Forward {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.fw)
}

// Resets counts the resets.
func (m *FakeMachine) Resets() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.resets
}

// FakeImages knows the images in its map (id -> owner account; "" for
// public) and fetches nothing (the fake hypervisor needs no files).
type FakeImages struct{ Images map[string]string }

func (f FakeImages) Check(_ context.Context, account, id string) error {
	owner, ok := f.Images[id]
	if !ok || (owner != "" && owner != account) {
		return ec2api.BadRequest("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
	}
	return nil
}

func (f FakeImages) Fetch(ctx context.Context, account, id string) (Files, error) {
	return Files{Kernel: "vmlinuz", Initrd: "initrd.img", Cmdline: "quiet"}, f.Check(ctx, account, id)
}
