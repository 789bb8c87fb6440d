package instances

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// Relay limits: slirp starts one relay process per guest connection to
// the metadata address, so a guest could otherwise pile up host
// processes. At most RelaySlots relays of one instance run at once (a
// connection past them is closed at once), and each lives at most
// RelayTimeout.
const (
	RelaySlots   = 8
	RelayTimeout = 30 * time.Second
)

// ErrRelayBusy is returned when every relay slot of the instance is taken.
var ErrRelayBusy = errors.New("instances: too many metadata connections from this instance")

// Relay copies in to the unix socket path and the socket's answers to
// out, until either side ends (then it closes the other direction). It is
// what `insitu imds-relay SOCKET` runs for each guest connection slirp
// hands it on stdin and stdout. It first takes one of RelaySlots slots
// (lock files beside the socket; released when the process ends) and ends
// after RelayTimeout whatever the guest does. Relay returns when the
// socket side ends; the copy of in, blocked in a read, ends when in does
// (the command's process exits first).
func Relay(ctx context.Context, path string, in io.Reader, out io.Writer) error {
	slot, err := takeSlot(path)
	if err != nil {
		return err
	}
	defer slot.Close()
	ctx, cancel := context.WithTimeout(ctx, RelayTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	go func() {
		_, _ = io.Copy(conn, in)
		_ = conn.(*net.UnixConn).CloseWrite()
	}()
	_, err = io.Copy(out, conn)
	return err
}

// takeSlot locks one of the RelaySlots files PATH.slot.N without waiting;
// the lock lasts while the returned file is open (or the process lives).
func takeSlot(path string) (*os.File, error) {
	for i := range RelaySlots {
		f, err := os.OpenFile(fmt.Sprintf("%s.slot.%d", path, i), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			return f, nil
		}
		f.Close()
	}
	return nil, ErrRelayBusy
}
