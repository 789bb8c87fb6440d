package cluster

import (
	"context"
	"net"
	"net/http"
	"time"
)

// peerTimeout bounds each wait on a peer: a write of request bytes, and
// its reply's headers once the request is sent (a streamed body counts
// as sent at its end). A peer that is stopped or cut off fails the call
// within it instead of holding it, and its writes, for as long as it is
// away; a timed-out peer is suspect (suspects). A slower peer is possible
// only for a fsync of more than this at the end of a write.
const peerTimeout = 10 * time.Second

// peerDialTimeout bounds a connection to a peer.
const peerDialTimeout = 5 * time.Second

// peerTransport is the transport of node-to-node calls; timeout is
// peerTimeout but in tests.
func peerTransport(timeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: peerDialTimeout, KeepAlive: 15 * time.Second}
	return &http.Transport{
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return writeDeadlineConn{conn, timeout}, nil
		},
	}
}

// writeDeadlineConn fails a write that makes no progress for timeout (a
// peer that stopped reading: its buffers are full).
type writeDeadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c writeDeadlineConn) Write(p []byte) (int, error) {
	_ = c.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}
