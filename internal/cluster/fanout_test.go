package cluster

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// A target that takes the whole body and then never answers (a paused
// node: a small body fits in its socket buffers) is cut StallTimeout
// after the body's end: the write fails as unavailable (clients retry)
// instead of waiting for the node.
func TestFanOutCutsATargetThatNeverAnswers(t *testing.T) {
	e := &Engine{}
	targets := []NodeStatus{{NodeRecord: NodeRecord{Name: "ok"}}, {NodeRecord: NodeRecord{Name: "silent"}}}
	start := time.Now()
	_, err := e.fanOut(context.Background(), targets, bytes.NewReader([]byte("small body")),
		func(ctx context.Context, n NodeStatus, body io.Reader) (store.ObjectInfo, error) {
			if _, err := io.ReadAll(body); err != nil {
				return store.ObjectInfo{}, err
			}
			if n.Name == "silent" {
				<-ctx.Done()
				return store.ObjectInfo{}, ctx.Err()
			}
			return store.ObjectInfo{ETag: "x"}, nil
		})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("write to a silent target: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > StallTimeout+5*time.Second {
		t.Fatalf("write to a silent target returned after %v", d)
	}
}
