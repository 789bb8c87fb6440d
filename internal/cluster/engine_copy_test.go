package cluster

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/insitu-cloud/insitu/internal/store"
)

// TestPushAnsweredEarly pushes a replica to a peer that answers at once
// (ErrSuperseded) without reading the body: the HTTP client goes on
// sending the body after the answer, so push must leave closing the
// local reader (which gives its buffer back) to the client. It closed
// it itself once, and a node crashed reading a released buffer.
func TestPushAnsweredEarly(t *testing.T) {
	ctx := context.Background()
	l := openTestLocal(t)
	if err := ensureLocalBucket(ctx, l, "b"); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("replica!"), 1<<20)
	info, err := l.PutObject(ctx, "b", "k", bytes.NewReader(body), int64(len(body)), store.PutOptions{Stamp: store.Stamp{HLC: 1, Node: "n0"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, store.ErrSuperseded)
	}))
	t.Cleanup(srv.Close)
	e := &Engine{c: &Cluster{signer: NewSigner("secret", "n0"), http: &http.Client{}}, local: l}
	for range 20 {
		if err := e.push(ctx, NodeStatus{NodeRecord: NodeRecord{Name: "n1", Endpoint: srv.URL}}, info); err != nil {
			t.Fatal(err)
		}
		// Reads reuse the engine's pooled buffers meanwhile.
		_, rc, err := l.GetObject(ctx, "b", "k", nil)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
}
