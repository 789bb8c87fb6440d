package sandbox

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// recv takes a message that is already there (the raw wait), one that
// comes after the raw wait gave up (the blocking wait), its file
// descriptors close-on-exec, and the parent's hang-up as n == 0.
func TestWorkerRecvBothWaits(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent := os.NewFile(uintptr(fds[0]), "parent")
	defer parent.Close()
	defer unix.Close(fds[1])
	w := &worker{fd: fds[1], rbuf: make([]byte, 64), oob: make([]byte, unix.CmsgSpace(4*64))}
	if err := initRecv(w.fd); err != nil {
		t.Fatal(err)
	}
	send := func(msg string, with *os.File) {
		t.Helper()
		var oob []byte
		if with != nil {
			oob = unix.UnixRights(int(with.Fd()))
		}
		if err := unix.Sendmsg(fds[0], []byte(msg), oob, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(want string, nfds int) {
		t.Helper()
		n, oobn, err := w.recv()
		if err != nil || string(w.rbuf[:n]) != want {
			t.Fatalf("recv = %q, %v; want %q", w.rbuf[:n], err, want)
		}
		got, err := parseRights(w.oob[:oobn])
		if err != nil || len(got) != nfds {
			t.Fatalf("rights = %d files, %v; want %d", len(got), err, nfds)
		}
		for _, f := range got {
			flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
			if err != nil || flags&unix.FD_CLOEXEC == 0 {
				t.Errorf("received fd flags %#x, %v: want close-on-exec", flags, err)
			}
			f.Close()
		}
	}

	r, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer wr.Close()
	send("first", r)
	expect("first", 1)

	go func() {
		time.Sleep(5 * fastWait) // past the raw wait: recv blocks in poll
		send("second", nil)
	}()
	expect("second", 0)

	go func() {
		time.Sleep(5 * fastWait)
		parent.Close()
	}()
	if n, _, err := w.recv(); n != 0 || err != nil {
		t.Fatalf("after the parent hung up: n=%d err=%v, want 0, nil", n, err)
	}
}
