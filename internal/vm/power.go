package vm

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Waits of Kill.
const (
	quitWait = 3 * time.Second // QMP quit to exit
	killWait = 5 * time.Second // SIGKILL to exit
)

// PowerDown presses the ACPI power button (system_powerdown), waits up
// to grace for the guest to power off, then stops QEMU as Kill does. It
// returns nil once the process is gone (at once when it already was).
// ctx ending cuts the grace short: QEMU is then stopped hard.
func (m *Machine) PowerDown(ctx context.Context, grace time.Duration) error {
	if m.exited() {
		return nil
	}
	err := m.do(ctx, func(q *qmpConn) error { return q.execute(ctx, "system_powerdown", nil, nil) })
	if err == nil && m.wait(ctx, grace) {
		m.log.Info("vm powered off", "dir", m.dir)
		return nil
	}
	if errors.Is(err, ErrClosed) {
		return err
	}
	m.log.Info("vm did not power off; stopping it", "dir", m.dir, "grace", grace, "err", err)
	return m.Kill(ctx)
}

// Kill stops QEMU now: QMP quit, then SIGKILL when it has not exited
// within 3 s (at once if ctx ends first). It returns nil once the process
// is gone.
func (m *Machine) Kill(ctx context.Context) error {
	if m.exited() {
		return nil
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	err := m.do(qctx, func(q *qmpConn) error { return q.execute(qctx, "quit", nil, nil) })
	cancel()
	if errors.Is(err, ErrClosed) {
		return err
	}
	if m.wait(ctx, quitWait) {
		return nil
	}
	m.log.Warn("vm did not quit; killing it", "dir", m.dir, "pid", m.pid, "err", err)
	if isQEMUFor(m.pid, m.dir) {
		syscall.Kill(m.pid, syscall.SIGKILL)
	}
	if m.wait(context.WithoutCancel(ctx), killWait) {
		return nil
	}
	return fmt.Errorf("vm: %s: QEMU (pid %d) still runs after SIGKILL", m.dir, m.pid)
}

// Reset resets the machine (QMP system_reset), as a reboot would. QEMU
// runs with -no-reboot (a guest reboot or panic ends it), so the reboot
// action is set to reset around the request.
func (m *Machine) Reset(ctx context.Context) error {
	return m.do(ctx, func(q *qmpConn) error {
		if err := q.execute(ctx, "set-action", map[string]string{"reboot": "reset"}, nil); err != nil {
			return err
		}
		err := q.execute(ctx, "system_reset", nil, nil)
		if rerr := q.execute(ctx, "set-action", map[string]string{"reboot": "shutdown"}, nil); err == nil {
			err = rerr
		}
		return err
	})
}

// wait reports whether QEMU exits within d (false early when ctx ends).
func (m *Machine) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-m.done:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return m.exited()
	}
}
