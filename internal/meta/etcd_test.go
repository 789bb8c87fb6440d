package meta

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/insitu-cloud/insitu/internal/meta/etcdtest"
)

// startEtcd runs a one-member etcd in-process and connects to it.
func startEtcd(t *testing.T) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{etcdtest.Start(t)}, DialTimeout: 10 * time.Second})
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
	testPutBatch(t, s)

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
