package obs

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// DefaultBodyWindow is the progress window BodyDeadlines uses when given
// zero.
const DefaultBodyWindow = 30 * time.Second

// BodyChunk is the progress unit of BodyDeadlines: each 64 KiB of a body (or
// the rest of it, when less is left) must move within the window.
const BodyChunk = 64 << 10

// ErrBodyTimeout wraps the error of a request body read, or of a response
// write, that made no progress within the window. Faces answer it as a
// timeout (S3: RequestTimeout) and the connection is closed after.
var ErrBodyTimeout = errors.New("obs: body made no progress within the timeout")

// BodyDeadlines wraps next so a peer cannot hold a request open by sending
// or reading a body too slowly: each BodyChunk of the request body must
// arrive, and each BodyChunk of the response must be taken, within window
// (zero: DefaultBodyWindow) of time spent waiting on the connection. Only
// time spent inside Read and Write counts, so a handler that pauses between
// reads (a sandbox guest computing) is not charged for it. The deadlines are
// connection deadlines set through http.ResponseController; a writer that
// supports none is served unchanged. The returned handler is safe for
// concurrent use; each request's wrappers belong to that request.
func BodyDeadlines(window time.Duration, next http.Handler) http.Handler {
	if window <= 0 {
		window = DefaultBodyWindow
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// Clear what the previous request on this connection left.
		if err := rc.SetWriteDeadline(time.Time{}); err != nil {
			next.ServeHTTP(w, r)
			return
		}
		dw := &deadlineWriter{ResponseWriter: w, p: progress{set: rc.SetWriteDeadline, window: window}}
		// The last bytes, flushed after the handler returns, get a window too.
		defer func() { _ = rc.SetWriteDeadline(time.Now().Add(window)) }()
		if r.Body != nil && r.Body != http.NoBody {
			dr := &deadlineReader{ReadCloser: r.Body, p: progress{set: rc.SetReadDeadline, window: window}}
			defer dr.finish()
			r = r.WithContext(r.Context()) // a shallow copy, as Middleware does
			r.Body = dr
		}
		next.ServeHTTP(dw, r)
	})
}

// progress charges time spent waiting on the connection to the current
// chunk and sets the connection deadline to what is left of the window.
type progress struct {
	set    func(time.Time) error
	window time.Duration
	waited time.Duration // in the current chunk
	moved  int           // bytes of the current chunk

	timedOut bool
}

// do runs one read or write under the deadline. The deadline is cleared
// after (so a pause between calls is never charged, and an HTTP/2 stream
// timer cannot fire while the handler computes) unless the call timed out:
// then it stays expired, so net/http cannot wait on the connection again
// and closes it.
func (p *progress) do(f func() (int, error)) (int, error) {
	start := time.Now()
	_ = p.set(start.Add(p.window - p.waited))
	n, err := f()
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		p.timedOut = true
		return n, fmt.Errorf("%w: %w", ErrBodyTimeout, err)
	}
	_ = p.set(time.Time{})
	p.waited += time.Since(start)
	if p.moved += n; p.moved >= BodyChunk {
		p.moved, p.waited = 0, 0
	}
	return n, err
}

type deadlineReader struct {
	io.ReadCloser
	p   progress
	eof bool
}

func (d *deadlineReader) Read(b []byte) (int, error) {
	if len(b) > BodyChunk {
		b = b[:BodyChunk]
	}
	n, err := d.p.do(func() (int, error) { return d.ReadCloser.Read(b) })
	if err == io.EOF {
		d.eof = true
	}
	return n, err
}

// finish bounds what net/http reads of an unfinished body after the
// handler (it discards up to 256 KiB): one more window.
func (d *deadlineReader) finish() {
	if !d.eof && !d.p.timedOut {
		_ = d.p.set(time.Now().Add(d.p.window))
	}
}

type deadlineWriter struct {
	http.ResponseWriter
	p progress
}

func (d *deadlineWriter) Write(b []byte) (int, error) {
	total := 0
	for len(b) > 0 {
		piece := b[:min(len(b), BodyChunk)]
		n, err := d.p.do(func() (int, error) { return d.ResponseWriter.Write(piece) })
		total += n
		if err != nil {
			return total, err
		}
		b = b[n:]
	}
	return total, nil
}

// ReadFrom copies in BodyChunk pieces, each under the deadline, keeping the
// wrapped writer's own ReadFrom path.
func (d *deadlineWriter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		n, err := d.p.do(func() (int, error) {
			n, err := io.CopyN(d.ResponseWriter, r, BodyChunk)
			return int(n), err
		})
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// Flush implements http.Flusher.
func (d *deadlineWriter) Flush() {
	if f, ok := d.ResponseWriter.(http.Flusher); ok {
		_, _ = d.p.do(func() (int, error) { f.Flush(); return 0, nil })
	}
}
