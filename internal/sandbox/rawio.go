package sandbox

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The parent's socket to a worker is non-blocking and waits in Go's
// netpoller like any net.Conn, but its sendmsg and read are raw system
// calls: the net package's calls go through the scheduler's syscall
// entry, which wakes the runtime's sysmon thread whenever it went to
// sleep because every P was idle — in a caller that waits for each run,
// that is every run (a futex wake-up of another thread, 12% of the
// parent's CPU in a profile of one caller; issue 13). A non-blocking call
// returns at once, so it needs no syscall entry. EAGAIN hands the wait
// back to the netpoller.

// sendMsg writes msg with oob (SCM_RIGHTS) as one message.
func (p *proc) sendMsg(msg, oob []byte) error {
	var serr error
	err := p.raw.Write(func(fd uintptr) bool {
		serr = rawSendmsg(int(fd), msg, oob)
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}

// readMsg reads one message into b; 0 and nil mean the worker closed its
// end.
func (p *proc) readMsg(b []byte) (int, error) {
	var n int
	var rerr error
	err := p.raw.Read(func(fd uintptr) bool {
		n, rerr = rawRead(int(fd), b)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}

// msghdr points h at one buffer and the ancillary data; empty ones are
// left out.
func msghdr(h *unix.Msghdr, iov *unix.Iovec, b, oob []byte) {
	if len(b) > 0 {
		iov.Base = &b[0]
		iov.SetLen(len(b))
		h.Iov = iov
		h.SetIovlen(1)
	}
	if len(oob) > 0 {
		h.Control = &oob[0]
		h.SetControllen(len(oob))
	}
}

func rawSendmsg(fd int, msg, oob []byte) error {
	var h unix.Msghdr
	var iov unix.Iovec
	msghdr(&h, &iov, msg, oob)
	for {
		_, _, e := syscall.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&h)), unix.MSG_NOSIGNAL)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

func rawRead(fd int, b []byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}
