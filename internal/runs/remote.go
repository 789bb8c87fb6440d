package runs

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"

	"github.com/insitu-cloud/insitu/internal/obs"
)

// Remote is how a Service reaches the other nodes of its cluster; nil
// when the node is alone. internal/app implements it over the cluster,
// so this package never imports it. Implementations are safe for
// concurrent use.
type Remote interface {
	// Self is this node's name.
	Self() string
	// Holders names the reachable nodes holding the newest copy of
	// bucket/key, this node first when it is one.
	Holders(ctx context.Context, bucket, key string) ([]string, error)
	// Alive reports whether node is up in the live view.
	Alive(node string) bool
	// Send sends a member-signed request to node's internal endpoint at
	// path (RemotePath); the caller closes the answer's body. hdr holds
	// X-Insitu- headers, which the signature covers.
	Send(ctx context.Context, node, path string, hdr http.Header, body io.Reader) (*http.Response, error)
}

// RemotePath is the internal endpoint that executes a run for another
// node (ServeRemote); it lives under the cluster's internal prefix.
const RemotePath = "/_cluster/v1/run"

// ErrNodeLost means a run sent to another node got no complete answer:
// the node was unreachable, went down, or cut the connection. The run
// may or may not have happened there; callers that can (jobs) run it
// again elsewhere.
var ErrNodeLost = errors.New("runs: the node running this was lost")

// inputObject is the object a run is "over", the one whose holders it
// should run on: its stdin object, else its only input. Service requests
// run where they arrive.
func (r *Request) inputObject() *ObjectRef {
	switch {
	case r.Kind == "service":
		return nil
	case r.StdinObject != nil:
		return r.StdinObject
	case len(r.Inputs) == 1:
		return &r.Inputs[0].Object
	}
	return nil
}

// runNearData executes req on a node holding its input object when this
// node holds none (handled false means: run here). Holders are tried in
// turn while they cannot be reached and nothing was written to the
// caller's stdout; when none answers, the run streams the bytes here.
func (s *Service) runNearData(ctx context.Context, req Request) (rec *Record, err error, handled bool) {
	ref := req.inputObject()
	if s.remote == nil || req.Local || ref == nil {
		return nil, nil, false
	}
	holders, herr := s.remote.Holders(ctx, ref.Bucket, ref.Key)
	if herr != nil || len(holders) == 0 || slices.Contains(holders, s.remote.Self()) {
		return nil, nil, false // the local path reports a missing object
	}
	out := &countingWriter{w: req.Stdout}
	if req.Stdout != nil {
		req.Stdout = out
	}
	for _, h := range holders {
		rec, err = s.RunAt(ctx, h, req)
		again := errors.Is(err, ErrNodeLost) || errors.Is(err, ErrShuttingDown)
		if !again || out.n > 0 || req.Stdin != nil || ctx.Err() != nil {
			return rec, err, true
		}
		obs.LoggerOr(ctx, s.log).Warn("holder did not run the request; trying the next", "node", h, "err", err)
	}
	obs.LoggerOr(ctx, s.log).Warn("no holder ran the request; streaming the input here", "object", ref.String())
	return nil, nil, false
}

// countingWriter counts what went through to w.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
