package instances

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/vm"
)

// State reasons (EC2's stateReason codes).
const (
	reasonUser     = "Client.UserInitiatedShutdown" // a stop or terminate asked for
	reasonGuest    = "Client.InstanceInitiatedShutdown"
	reasonInternal = "Server.InternalError"
)

// step converges one local instance towards what its record asks, under
// l.mu: boot a pending one, power down a stopping one, kill a
// shutting-down one, notice a machine that exited, keep a running one's
// forwards and metadata server.
func (m *Manager) step(ctx context.Context, l *local, account, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, _, err := getRecord(ctx, m.kv, account, id)
	if errors.Is(err, meta.ErrNotFound) || (err == nil && r.Node != m.cfg.Node) {
		m.dropMachine(ctx, l, id, true)
		return
	}
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("instance: read record", "instance", id, "err", err)
		}
		return
	}
	err = m.stepState(ctx, l, r)
	switch {
	case err == nil:
		l.lastErr = ""
	case ctx.Err() == nil && err.Error() != l.lastErr: // the loop retries each second: say it once
		l.lastErr = err.Error()
		m.log.Warn("instance: converge", "instance", id, "state", r.State, "err", err)
	}
}

func (m *Manager) stepState(ctx context.Context, l *local, r Record) error {
	if l.exited() && (r.State == Pending || r.State == Running) {
		m.dropMachine(ctx, l, r.ID, false)
		m.log.Info("instance: machine exited", "instance", r.ID)
		_, _, err := transition(ctx, m.kv, r.Account, r.ID, Stopped, reasonGuest,
			"Client.InstanceInitiatedShutdown: Instance initiated shutdown", Pending, Running)
		return err
	}
	switch r.State {
	case Pending:
		return m.stepPending(ctx, l, r)
	case Running:
		return m.stepRunning(ctx, l, r)
	case Stopping:
		m.powerDown(ctx, l, r.ID, r.Force)
		_, _, err := transition(ctx, m.kv, r.Account, r.ID, Stopped, r.Reason, r.ReasonMsg, Stopping)
		return err
	case ShuttingDown:
		return m.stepTerminate(ctx, l, r)
	case Stopped:
		m.powerDown(ctx, l, r.ID, false) // stopped behind our back: make it so
	case Terminated:
		m.dropMachine(ctx, l, r.ID, true)
	}
	return nil
}

// stepPending boots the machine (unless it runs) and marks the record
// running; a boot that fails leaves it stopped with the error as reason.
func (m *Manager) stepPending(ctx context.Context, l *local, r Record) error {
	if l.m == nil {
		if err := m.boot(ctx, l, r); err != nil {
			if ctx.Err() != nil {
				return err
			}
			m.log.Warn("instance: boot failed", "instance", r.ID, "err", err)
			_, _, terr := transition(ctx, m.kv, r.Account, r.ID, Stopped, reasonInternal,
				"Server.InternalError: "+err.Error(), Pending)
			return terr
		}
	}
	_, moved, err := transition(ctx, m.kv, r.Account, r.ID, Running, "", "", Pending)
	if err == nil && !moved {
		m.converge(r.Account, r.ID) // it changed meanwhile (a stop, a terminate): go on
	}
	return err
}

// stepRunning keeps a running machine's metadata server and forwards; a
// running record with no machine here (lost with its process) is stopped.
func (m *Manager) stepRunning(ctx context.Context, l *local, r Record) error {
	if l.m == nil {
		_, _, err := transition(ctx, m.kv, r.Account, r.ID, Stopped, reasonInternal,
			"Server.InternalError: the instance's machine is gone", Running)
		return err
	}
	if l.imds == nil {
		if err := m.serveIMDS(l, r); err != nil {
			m.log.Warn("instance: metadata server", "instance", r.ID, "err", err)
		}
	}
	if _, err := vm.TrimConsole(m.dir(r.ID), consoleLimit, consoleMax); err != nil {
		m.log.Warn("instance: console", "instance", r.ID, "err", err)
	}
	return m.syncForwards(ctx, l, r)
}

// consoleLimit bounds a running instance's console file: past it, the
// file is cut back to its last consoleMax bytes (what GetConsoleOutput
// returns) on the next converge step (every ReconcileEvery), so a guest
// writing to its console without end cannot fill the node's disk.
const consoleLimit = 4 << 20

// stepTerminate kills the machine, deletes its directory, frees its
// address and marks the record terminated.
func (m *Manager) stepTerminate(ctx context.Context, l *local, r Record) error {
	if l.m != nil {
		if err := l.m.Kill(ctx); err != nil {
			return err
		}
	}
	m.dropMachine(ctx, l, r.ID, true)
	if err := m.pool.release(ctx, r.IP, r.ID); err != nil {
		return err
	}
	now := m.cfg.Now().UTC()
	_, err := update(ctx, m.kv, r.Account, r.ID, func(x *Record) error {
		if x.State != ShuttingDown {
			return errNoChange
		}
		x.State, x.Terminated = Terminated, now
		return nil
	})
	return err
}

// powerDown stops the machine: ACPI power-off, a hard stop after
// StopGrace (at once with force). l.mu is held.
func (m *Manager) powerDown(ctx context.Context, l *local, id string, force bool) {
	if l.m == nil {
		return
	}
	if force {
		_ = l.m.Kill(ctx)
	} else if err := l.m.PowerDown(ctx, m.cfg.StopGrace); err != nil {
		m.log.Warn("instance: power down", "instance", id, "err", err)
		_ = l.m.Kill(ctx)
	}
	m.dropMachine(ctx, l, id, false)
}

// dropMachine forgets the machine (closing its QMP connection) and the
// metadata server; with removeDir, it kills a machine still there and
// deletes the instance's directory. l.mu is held.
func (m *Manager) dropMachine(ctx context.Context, l *local, id string, removeDir bool) {
	if l.m != nil {
		if removeDir && !l.exited() {
			_ = l.m.Kill(ctx)
		}
		_ = l.m.Close()
		l.m = nil
	}
	l.stopIMDS()
	l.fw, l.fwOK = nil, false
	if removeDir {
		if err := os.RemoveAll(m.dir(id)); err != nil {
			m.log.Warn("instance: remove directory", "instance", id, "err", err)
		}
	}
}

// guestVCPUs is how many vCPUs a machine of a type with n gets:
// n, or at most Config.TCGVCPUs under TCG.
func (m *Manager) guestVCPUs(n int) int {
	if m.cfg.Accel == "tcg" && m.cfg.TCGVCPUs > 0 {
		return min(n, m.cfg.TCGVCPUs)
	}
	return n
}

// boot fetches the image and starts the machine. l.mu is held.
func (m *Manager) boot(ctx context.Context, l *local, r Record) error {
	files, err := m.cfg.Images.Fetch(ctx, r.Account, r.ImageID)
	if err != nil {
		return err
	}
	fw, err := m.forwards(ctx, r)
	if err != nil {
		return err
	}
	spec := Spec{Dir: m.dir(r.ID), Kernel: files.Kernel, Initrd: files.Initrd, RootBase: files.Root,
		Cmdline: files.Cmdline, MemoryMiB: r.MemoryMiB, VCPUs: m.guestVCPUs(r.VCPUs), Accel: m.cfg.Accel, Forwards: fw,
		MetadataCmd: append(append([]string(nil), m.cfg.RelayCommand...), m.socket(r.ID)), QEMU: m.cfg.QEMU}
	if err := os.MkdirAll(spec.Dir, 0o700); err != nil {
		return err
	}
	// The metadata server listens before the guest can ask it.
	if err := m.serveIMDS(l, r); err != nil {
		return err
	}
	bootCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	mach, err := m.cfg.Hypervisor.Start(bootCtx, spec, m.log.With("instance", r.ID))
	if err != nil {
		l.stopIMDS()
		return err
	}
	l.m, l.fw, l.fwOK = mach, fw, true
	m.watch(mach, r.Account, r.ID)
	m.log.Info("instance: machine started", "instance", r.ID, "ip", r.IP, "type", r.Type)
	return nil
}

// userData decodes the record's user data (nil when none).
func (r *Record) userData() []byte {
	if r.UserData == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(r.UserData)
	if err != nil {
		return []byte(r.UserData)
	}
	return b
}
