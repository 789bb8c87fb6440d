package services

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// BufferedBody is how much of a service request's body is read into memory
// before its run starts (1 MiB). A body of at most this size is read whole
// first, so a client that trickles it in holds no sandbox worker and no
// concurrency slot while it does. A larger body streams into the running
// guest (full duplex), guarded by the server's own per-read deadline.
const BufferedBody = 1 << 20

var errBodyTimeout = errors.New("services: request body not received in time")

// preread reads up to BufferedBody bytes of body (the request's body, or
// the SigV4-verified reader over it) before the run starts, within
// timeout for the whole read. It returns the guest's stdin: the whole body
// from memory when it fit, otherwise the bytes read so far followed by the
// rest of the stream. A declared length over BufferedBody streams at once.
// The error is errBodyTimeout when the time ran out, or the body's read
// error. Call it from the handler's goroutine.
//
// The server's per-read body deadlines (obs.BodyDeadlines) set the
// connection's read deadline on every read, so the whole-read limit is a
// timer of its own: when it fires it expires the connection's deadline (a
// blocked read returns) and marks the read late (a read that had already
// started under a fresh deadline is caught when it returns).
func preread(w http.ResponseWriter, r *http.Request, body io.Reader, timeout time.Duration) (io.Reader, error) {
	if r.ContentLength == 0 || r.ContentLength > BufferedBody {
		return body, nil
	}
	rc := http.NewResponseController(w)
	var late atomic.Bool
	timer := time.AfterFunc(timeout, func() {
		late.Store(true)
		_ = rc.SetReadDeadline(time.Unix(1, 0))
	})
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	}
	err := readUpTo(&buf, body, BufferedBody+1, &late)
	if !timer.Stop() || late.Load() || errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, errBodyTimeout
	}
	if err != nil {
		return nil, err
	}
	if buf.Len() <= BufferedBody {
		return bytes.NewReader(buf.Bytes()), nil
	}
	return io.MultiReader(bytes.NewReader(buf.Bytes()), body), nil
}

// readUpTo reads body into buf until EOF, limit bytes, an error, or late.
func readUpTo(buf *bytes.Buffer, body io.Reader, limit int64, late *atomic.Bool) error {
	chunk := make([]byte, 32<<10)
	for int64(buf.Len()) < limit && !late.Load() {
		n, err := body.Read(chunk[:min(int64(len(chunk)), limit-int64(buf.Len()))])
		buf.Write(chunk[:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}
