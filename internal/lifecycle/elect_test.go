package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// With Elect, Start's passes run only while the runner leads: none
// before it is elected; once elected with a pass cut short (progress
// saved by the node that led before), the first pass runs at once
// however long the interval, and resumes there; a lost leadership ends
// the passes until it is won again; Close resigns.
func TestStartRunsOnlyWhileLeading(t *testing.T) {
	f := newFixture(t)
	for i := range 4 {
		f.put(t, fmt.Sprintf("k%d", i), "x")
	}
	later := time.Now().AddDate(0, 0, 2)
	b, _ := json.Marshal(progress{Bucket: "b", Phase: phaseObjects, After: "k1"}) // the last leader got this far
	if err := f.kv.Put(context.Background(), ProgressKey, b); err != nil {
		t.Fatal(err)
	}
	elected := make(chan struct{})
	var resigned, terms atomic.Int32
	var lose context.CancelFunc
	elect := func(ctx context.Context) (context.Context, func(), error) {
		select {
		case <-elected:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		terms.Add(1)
		lctx, cancel := context.WithCancel(ctx)
		lose = cancel
		return lctx, func() { cancel(); resigned.Add(1) }, nil
	}
	reg := prometheus.NewRegistry()
	r := New(Config{Registerer: reg, Engine: f.eng, KV: f.kv, Every: time.Hour, Now: func() time.Time { return later }, Elect: elect,
		Configs: func(context.Context) ([]BucketRules, error) {
			return []BucketRules{{Bucket: "b", Rules: Rules{{Enabled: true, ExpireDays: 1}}}}, nil
		}})
	r.Start()
	time.Sleep(200 * time.Millisecond)
	if got := len(f.keys(t)); got != 4 || passesOf(t, reg) != 0 {
		t.Fatalf("a pass ran before the runner was elected: %d keys left", got)
	}
	close(elected)
	deadline := time.Now().Add(30 * time.Second)
	for passesOf(t, reg) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if keys := f.keys(t); passesOf(t, reg) != 1 || len(keys) != 2 || keys[0] != "k0" || keys[1] != "k1" {
		t.Fatalf("after election: %v passes, keys %v; want one pass at once, resumed after k1", passesOf(t, reg), keys)
	}
	lose() // the lease lapsed: the runner campaigns again (and, elected is closed, wins)
	for terms.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	r.Close()
	if terms.Load() < 2 || resigned.Load() != terms.Load() {
		t.Fatalf("terms %d, resigned %d: every term must be resigned, and a lost one campaigned again", terms.Load(), resigned.Load())
	}
}

// passesOf reads insitu_lifecycle_passes_total from reg.
func passesOf(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "insitu_lifecycle_passes_total" {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}
