package meta

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// freeURL returns http://127.0.0.1:PORT for a port free a moment ago.
func freeURL(t *testing.T) url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return url.URL{Scheme: "http", Host: ln.Addr().String()}
}

// startEtcd runs a one-member etcd in-process, as a node embeds it.
func startEtcd(t *testing.T) *clientv3.Client {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.LogLevel = "error"
	peer, client := freeURL(t), freeURL(t)
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.InitialCluster = fmt.Sprintf("%s=%s", cfg.Name, peer.String())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(time.Minute):
		t.Fatal("etcd did not start")
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{client.String()}, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The etcd Store behaves as the local one: the same paging walk, the same
// compare-and-swap rules, watches, and keys kept under its prefix.
func TestEtcd(t *testing.T) {
	ctx := context.Background()
	c := startEtcd(t)
	s := NewEtcd(c, "/cloud-a/", true)
	defer s.Close()
	testListPage(t, s)

	if _, err := s.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}
	if err := s.CompareAndSwap(ctx, "k", nil, []byte("1")); err != nil {
		t.Fatalf("CAS create: %v", err)
	}
	if err := s.CompareAndSwap(ctx, "k", nil, []byte("2")); !errors.Is(err, ErrConflict) {
		t.Fatalf("CAS create over an existing key: %v", err)
	}
	if err := s.CompareAndSwap(ctx, "k", []byte("0"), []byte("2")); !errors.Is(err, ErrConflict) {
		t.Fatalf("CAS with a stale value: %v", err)
	}
	if err := s.CompareAndSwap(ctx, "k", []byte("1"), []byte("2")); err != nil {
		t.Fatalf("CAS: %v", err)
	}
	if v, err := s.Get(ctx, "k"); err != nil || string(v) != "2" {
		t.Fatalf("after CAS: %q %v", v, err)
	}
	if err := s.CompareAndSwap(ctx, "k", []byte("2"), nil); err != nil {
		t.Fatalf("CAS delete: %v", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after CAS delete: %v", err)
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := s.Watch(wctx, "w/")
	time.Sleep(100 * time.Millisecond) // let the watch register
	if err := s.Put(ctx, "w/1", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "other", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "w/1"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []Event{{Key: "w/1", Value: []byte("a")}, {Key: "w/1"}} {
		select {
		case ev := <-events:
			if ev.Key != want.Key || string(ev.Value) != string(want.Value) || (want.Value == nil) != (ev.Value == nil) {
				t.Fatalf("event %d: %+v, want %+v", i, ev, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d never came", i)
		}
	}

	// Another cloud's prefix in the same etcd sees none of these keys.
	other := NewEtcd(c, "/cloud-b/", false)
	if pairs, err := other.List(ctx, ""); err != nil || len(pairs) != 0 {
		t.Fatalf("cloud-b sees %d keys (%v)", len(pairs), err)
	}
}
