package cluster

import (
	"context"
	"log/slog"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Elect over the node's embedded etcd: one leader at a time; a second
// candidate waits, and is elected at once when the first resigns. A
// leader whose lease is gone (as when it dies and its lease lapses; the
// test revokes it rather than wait ElectionTTL) sees its context end,
// and the candidate behind it is elected.
func TestElectOneLeaderAtATime(t *testing.T) {
	ctx := context.Background()
	url, err := freeURL("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(ctx, Config{DataDir: t.TempDir(), Name: "solo", Endpoint: url, Secret: "elect-test-secret-0123456789",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lead1, resign1, err := c.Elect(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	type won struct {
		ctx    context.Context
		resign func()
	}
	second := make(chan won, 1)
	campaign := func() {
		l, r, err := c.Elect(ctx, "t")
		if err != nil {
			t.Error(err)
			return
		}
		second <- won{l, r}
	}
	go campaign()
	select {
	case <-second:
		t.Fatal("a second leader was elected while the first leads")
	case <-time.After(500 * time.Millisecond):
	}
	resign1()
	if lead1.Err() == nil {
		t.Fatal("resign left the leader's context running")
	}
	var w won
	select {
	case w = <-second:
	case <-time.After(30 * time.Second):
		t.Fatal("the candidate was not elected after the leader resigned")
	}
	go campaign()
	s := leaseOf(t, c, "t")
	if _, err := c.etcd.Revoke(ctx, s); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.ctx.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("a leader whose lease is gone still leads")
	}
	w.resign()
	select {
	case w = <-second:
		w.resign()
	case <-time.After(30 * time.Second):
		t.Fatal("the candidate was not elected after the leader's lease went")
	}
}

// leaseOf finds the lease of the current leader of election name (the
// oldest key under its prefix).
func leaseOf(t *testing.T, c *Cluster, name string) clientv3.LeaseID {
	t.Helper()
	resp, err := c.etcd.Get(context.Background(), Prefix+"elect/"+name+"/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("no leader key: %v", err)
	}
	return clientv3.LeaseID(resp.Kvs[0].Lease)
}
