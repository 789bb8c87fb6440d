package vm

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/testtool"
)

func TestProbeBootTCG(t *testing.T) {
	qemu := testtool.NeedQEMU(t)
	start := time.Now()
	if err := probeBoot(context.Background(), qemu, AccelTCG, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("probe boot under TCG: %s", time.Since(start))
}

func TestProbeModes(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	if got, err := Probe(ctx, "tcg", log); err != nil || got != AccelTCG {
		t.Fatalf("Probe(tcg) = %q, %v", got, err)
	}
	if _, err := Probe(ctx, "fast", log); err == nil {
		t.Fatal("Probe(fast): no error")
	}
	got, err := Probe(ctx, "auto", log)
	if err != nil || (got != AccelTCG && got != AccelKVM) {
		t.Fatalf("Probe(auto) = %q, %v", got, err)
	}
	kvm, kerr := Probe(ctx, "kvm", log)
	if (kerr == nil) != (got == AccelKVM) {
		t.Fatalf("Probe(kvm) = %q, %v but Probe(auto) = %q: they disagree", kvm, kerr, got)
	}
	t.Logf("auto -> %s; kvm -> %q, %v", got, kvm, kerr)
}
