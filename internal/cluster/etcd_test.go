package cluster

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testState is the state of a node named name with free etcd URLs on
// 127.0.0.1.
func testState(t *testing.T, name string) state {
	t.Helper()
	st := state{Name: name}
	var err error
	if st.PeerURL, err = freeURL("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if st.ClientURL, err = freeURL("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	return st
}

// startTestMember starts a one-member etcd cluster, closed at the test's
// end, and returns its node's state.
func startTestMember(t *testing.T, name string) state {
	t.Helper()
	st := testState(t, name)
	m, err := startMember(context.Background(), filepath.Join(t.TempDir(), "etcd"), st, "", false, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return st
}

// A member joining while the running member has not yet applied its
// addition (the peer reports one member fewer than the joiner was told)
// keeps trying, and starts once the addition is applied.
func TestJoinWaitsForThePeerToApplyTheAddition(t *testing.T) {
	a, b := startTestMember(t, "a"), testState(t, "b")
	initial := "a=" + a.PeerURL + ",b=" + b.PeerURL
	type result struct {
		m   *etcdMember
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := startMember(context.Background(), filepath.Join(t.TempDir(), "etcd"), b, initial, true, slog.New(slog.DiscardHandler))
		done <- result{m, err}
	}()
	// the addition comes a second after b began: its first checks find
	// one member where it was told of two
	select {
	case r := <-done:
		if r.m != nil {
			r.m.Close()
		}
		t.Fatalf("b finished joining before it was added: %v", r.err)
	case <-time.After(time.Second):
	}
	cli, err := newClient([]string{a.ClientURL})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.MemberAdd(ctx, []string{b.PeerURL}); err != nil {
		t.Fatal(err)
	}
	added := time.Now()
	r := <-done
	t.Logf("b joined %v after its addition", time.Since(added).Round(time.Millisecond))
	if r.err != nil {
		t.Fatalf("b did not join once added: %v", r.err)
	}
	defer r.m.Close()
	ml, err := cli.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ml.Members {
		names = append(names, m.Name)
	}
	if len(names) != 2 || !strings.Contains(strings.Join(names, ","), "b") {
		t.Fatalf("members after the join: %v", names)
	}
}

// Errors other than the peer check's are not retried.
func TestPeerViewLags(t *testing.T) {
	for s, want := range map[string]bool{
		"error validating peerURLs {ClusterID:x Members:[a]}: member count is unequal":     true,
		"cannot fetch cluster info from peer urls: could not retrieve cluster information": true,
		"listen tcp 127.0.0.1:5: bind: address already in use":                             false,
	} {
		if got := peerViewLags(errString(s)); got != want {
			t.Errorf("peerViewLags(%q) = %v, want %v", s, got, want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
