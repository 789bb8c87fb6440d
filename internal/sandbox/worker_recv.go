package sandbox

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fastWait is how long a worker waits for its next request in a raw
// recvmsg before it blocks the usual way (recv).
const fastWait = 2 * time.Millisecond

// initRecv sets the worker socket's receive timeout to fastWait, which
// bounds recv's raw wait and makes a signal interrupt it (a socket
// receive with a timeout is never restarted, even under SA_RESTART).
func initRecv(fd int) error {
	tv := unix.NsecToTimeval(fastWait.Nanoseconds())
	return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
}

// recv reads the parent's next message into w.rbuf and its ancillary
// data into w.oob; n == 0 means the parent closed its end.
//
// A busy worker gets its next request soon after its report. It waits
// for it in a raw recvmsg, which keeps the worker's P: a wait through the
// scheduler's syscall entry and exit woke the runtime's sysmon thread on
// every run, 17% of a busy worker's CPU on a paravirtual machine, where
// every wake-up is dear (issue 13). The raw wait ends by fastWait
// (SO_RCVTIMEO, initRecv); then the worker blocks in poll through the
// syscall entry, so an idle worker costs nothing. A signal (the runtime
// preempting the goroutine for a stop-the-world) interrupts the raw wait
// with EINTR, and the worker yields before it waits again; without
// signals (GODEBUG=asyncpreemptoff=1) a stop-the-world waits at most
// fastWait, never for the next request.
func (w *worker) recv() (n, oobn int, err error) {
	for {
		n, oobn, err = rawRecvmsg(w.fd, w.rbuf, w.oob)
		switch err {
		case unix.EINTR:
			runtime.Gosched()
		case unix.EAGAIN:
			if err := waitReadable(w.fd); err != nil {
				return 0, 0, err
			}
		default:
			return n, oobn, err
		}
	}
}

// waitReadable blocks until fd can be read (or its peer hung up).
func waitReadable(fd int) error {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(pfd, -1)
		if err != unix.EINTR {
			return err
		}
	}
}

// rawRecvmsg is one recvmsg(2) without the scheduler's syscall entry; its
// file descriptors are received close-on-exec.
func rawRecvmsg(fd int, b, oob []byte) (n, oobn int, err error) {
	var h unix.Msghdr
	var iov unix.Iovec
	msghdr(&h, &iov, b, oob)
	r, _, e := syscall.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&h)), unix.MSG_CMSG_CLOEXEC)
	if e != 0 {
		return 0, 0, e
	}
	return int(r), int(h.Controllen), nil
}
