package instances

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/ec2api"
)

// TestTCGVCPUs: under TCG, Config.TCGVCPUs caps the vCPUs the machine
// gets, while the record (what the API reports and the account's vCPU
// limit counts) keeps the type's; under KVM the cap does not apply.
func TestTCGVCPUs(t *testing.T) {
	for _, tc := range []struct {
		accel string
		want  int
	}{{"tcg", 1}, {"kvm", 2}} {
		t.Run(tc.accel, func(t *testing.T) {
			ctx := context.Background()
			kv := openKV(t)
			hv := NewFakeHypervisor()
			face := ec2api.New(ec2api.Config{KV: kv, Logger: slog.New(slog.DiscardHandler)})
			m, err := New(Config{KV: kv, Face: face, Images: FakeImages{Images: map[string]string{"ami-01234567": ""}},
				Hypervisor: hv, Accel: tc.accel, TCGVCPUs: 1, DataDir: t.TempDir(), RelayCommand: []string{"relay"},
				MemoryMiB: 4096, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			caller := ec2api.Caller{AccountID: "acct"}
			resp, err := m.RunInstances(ctx, caller, ec2api.Params{"ImageId": "ami-01234567", "InstanceType": "t3.micro"})
			if err != nil {
				t.Fatal(err)
			}
			id := resp.(*runResp).Instances[0].InstanceID
			deadline := time.Now().Add(10 * time.Second)
			for hv.Machine(id) == nil {
				if time.Now().After(deadline) {
					t.Fatal("the machine did not start")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if got := hv.Machine(id).Spec.VCPUs; got != tc.want {
				t.Fatalf("the machine got %d vCPUs, want %d", got, tc.want)
			}
			if r, _, err := getRecord(ctx, kv, "acct", id); err != nil || r.VCPUs != 2 {
				t.Fatalf("record vCPUs %d (%v), want the type's 2", r.VCPUs, err)
			}
		})
	}
}
