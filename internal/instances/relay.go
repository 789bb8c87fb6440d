package instances

import (
	"context"
	"io"
	"net"
)

// Relay copies in to the unix socket path and the socket's answers to
// out, until either side ends (then it closes the other direction). It is
// what `insitu imds-relay SOCKET` runs for each guest connection slirp
// hands it on stdin and stdout. Relay returns when the socket side ends;
// the copy of in, blocked in a read, ends when in does (the command's
// process exits first).
func Relay(ctx context.Context, path string, in io.Reader, out io.Writer) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return err
	}
	defer conn.Close()
	go func() {
		_, _ = io.Copy(conn, in)
		_ = conn.(*net.UnixConn).CloseWrite()
	}()
	_, err = io.Copy(out, conn)
	return err
}
