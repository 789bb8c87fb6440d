package instances

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/ec2api"
	"github.com/insitu-cloud/insitu/internal/meta"
)

// TestSweep: a terminated instance is shown for TerminatedTTL, then hidden
// and, at the next reconcile, its record, tags, owner entry and client
// token are gone (a retry with the token then launches afresh).
func TestSweep(t *testing.T) {
	ctx := context.Background()
	kv := openKV(t)
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	face := ec2api.New(ec2api.Config{KV: kv, Logger: slog.New(slog.DiscardHandler)})
	m, err := New(Config{KV: kv, Face: face, Images: FakeImages{Images: map[string]string{"ami-01234567": ""}},
		Hypervisor: NewFakeHypervisor(), DataDir: t.TempDir(), RelayCommand: []string{"relay"}, Now: clock,
		MemoryMiB: 4096, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	caller := ec2api.Caller{AccountID: "acct"}
	p := ec2api.Params{"ImageId": "ami-01234567", "ClientToken": "tok", "InstanceType": "t3.nano",
		"TagSpecification.1.ResourceType": "instance", "TagSpecification.1.Tag.1.Key": "k"}
	resp, err := m.RunInstances(ctx, caller, p)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.(*runResp).Instances[0].InstanceID
	if _, err := m.TerminateInstances(ctx, caller, ec2api.Params{"InstanceId.1": id}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, _, err := getRecord(ctx, kv, "acct", id)
		if err == nil && r.State == Terminated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not terminated: %+v %v", r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	visible := func() int {
		out, err := m.DescribeInstances(ctx, caller, ec2api.Params{})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.(*describeResp).Reservations)
	}
	if visible() != 1 {
		t.Fatal("a terminated instance is hidden at once")
	}
	mu.Lock()
	now = now.Add(time.Hour + time.Second)
	mu.Unlock()
	if visible() != 0 {
		t.Fatal("a terminated instance is shown past its hour")
	}
	keys := []string{recordKey("acct", id), tokenKey("acct", "tok"), "ec2/owners/" + id, "ec2/acct/tags/" + id}
	for _, key := range keys {
		if _, err := kv.Get(ctx, key); err != nil {
			t.Fatalf("%s before the sweep: %v", key, err)
		}
	}
	if err := m.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if _, err := kv.Get(ctx, key); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("%s after the sweep: %v", key, err)
		}
	}
	again, err := m.RunInstances(ctx, caller, p)
	if err != nil || again.(*runResp).ReservationID == resp.(*runResp).ReservationID {
		t.Fatalf("a retry after the sweep: %v", err)
	}
}
