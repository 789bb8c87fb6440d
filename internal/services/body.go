package services

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
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
// timeout for the whole read (a read deadline on the connection).
// It returns the guest's stdin: the whole body from memory when it fit,
// otherwise the bytes read so far followed by the rest of the stream (the
// connection's deadline cleared). A declared length over BufferedBody
// streams at once. The error is errBodyTimeout when the deadline passed,
// or the body's read error. Call it from the handler's goroutine.
func preread(w http.ResponseWriter, r *http.Request, body io.Reader, timeout time.Duration) (io.Reader, error) {
	if r.ContentLength == 0 || r.ContentLength > BufferedBody {
		return body, nil
	}
	rc := http.NewResponseController(w)
	deadline := rc.SetReadDeadline(time.Now().Add(timeout)) == nil
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	}
	_, err := buf.ReadFrom(io.LimitReader(body, BufferedBody+1))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, errBodyTimeout
	}
	if err != nil {
		return nil, err
	}
	if buf.Len() <= BufferedBody {
		return bytes.NewReader(buf.Bytes()), nil
	}
	if deadline {
		_ = rc.SetReadDeadline(time.Time{})
	}
	return io.MultiReader(bytes.NewReader(buf.Bytes()), body), nil
}
