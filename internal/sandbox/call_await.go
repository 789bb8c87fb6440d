package sandbox

import "fmt"

// await reads the worker's messages until its result, or until the
// worker dies. The deadline (Limits.Timeout from c.start, restarted when
// the worker reports a compile) and the caller's ctx end the run by
// killing the worker; the read then sees the socket close.
//
// Both callbacks kill through the run's kill window (proc.arm/killRun).
// Stopping the timer and the ctx callback is not enough on its own: when
// Stop or stopCtx reports false, a callback may already be running and
// about to kill, possibly after the worker went back to the pool, where
// the kill would land on the next run. disarm closes the window under the
// worker's lock instead: a callback either killed before it (and c.killed
// shows it, so the worker is retired) or does nothing. Stop's result is
// therefore not needed.
func (c *call) await() {
	p := c.p
	gen := p.arm()
	timer := c.r.afterFunc(c.lim.Timeout-c.sinceStart(), func() { p.killRun(gen, killTimeout) })
	stopCtx := c.r.ctxAfterFunc(c.ctx, func() { c.cancelled(gen) })
	c.stdout = capWriter{w: c.spec.Stdout, limit: c.lim.StdoutBytes}
	c.stderr = capWriter{w: c.spec.Stderr, limit: c.lim.StderrBytes}
	c.outs = p.outs[:0]
	c.readLoop(timer)
	timer.Stop()
	stopCtx()
	if g := c.grace.Load(); g != nil {
		(*g).Stop()
	}
	p.disarm()
	c.killed = p.killed.Load()
}

// cancelled is the ctx callback: the caller is gone. The run may still
// finish within Config.CancelGrace and keep its worker; then it is
// killed. The grace timer is stopped when the run ends; one started
// after that (the callback ran late) finds the kill window closed.
func (c *call) cancelled(gen uint64) {
	if c.r.cfg.CancelGrace < 0 {
		c.p.killRun(gen, killCancel)
		return
	}
	t := c.r.afterFunc(c.r.cfg.CancelGrace, func() { c.p.killRun(gen, killCancel) })
	c.grace.Store(&t)
}

// readLoop handles messages until the result (c.got) or a read error.
// A message the parent cannot accept kills the worker (killOutput).
func (c *call) readLoop(timer deadline) {
	p := c.p
	for {
		n, err := p.readMsg(p.rbuf)
		if err != nil || n == 0 {
			return
		}
		c.r.msgsIn.Add(1)
		m := p.rbuf[:n]
		switch m[0] {
		case msgStdout, msgStderr:
			cw := &c.stdout
			if m[0] == msgStderr {
				cw = &c.stderr
			}
			if werr := cw.write(m[1:]); werr != nil {
				p.kill(killOutput)
			}
		case msgStarted:
			// Compiling is not the guest's time: the deadline restarts.
			timer.Reset(c.lim.Timeout)
		case msgOutputs:
			if c.outs, err = decodeOutputs(m[1:], c.outs); err != nil {
				c.protoErr = err
				p.kill(killOutput)
			}
		case msgResult:
			if err := c.wr.decode(m[1:]); err != nil {
				c.protoErr = err
				p.kill(killOutput)
				continue
			}
			if c.stdout.write(c.wr.tailOut) != nil || c.stderr.write(c.wr.tailErr) != nil {
				p.kill(killOutput) // reported as a failed write, like a stream message
				return
			}
			c.got = true
			return
		default:
			c.protoErr = fmt.Errorf("unexpected message %q", m[0])
			p.kill(killOutput)
		}
	}
}
