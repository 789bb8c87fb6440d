package main

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"time"

	"github.com/insitu-cloud/insitu/internal/scheduler"
)

// placeFunc is an implementation under test.
type placeFunc func(scheduler.Snapshot, []scheduler.Task) scheduler.Plan

// result is one row: an implementation placing tasks in calls of batch.
type result struct {
	nodes, batch int
	impl         string
	placed       int // tasks given to Place
	local        int
	unplaced     int
	total        time.Duration // time inside the Place calls
	perTask      []time.Duration
}

func (r *result) rate() float64 { return float64(r.placed) / r.total.Seconds() }

// quantile of the per-placement times (nearest rank).
func (r *result) quantile(q float64) time.Duration {
	s := slices.Clone(r.perTask)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// measure places the first n tasks of w through place, batch tasks per
// call, on a cluster that books every plan between calls (not timed). Each
// call's time divided by its tasks is one per-placement sample. When check
// is set, every call's plan must equal check's on the same input.
func measure(w workload, impl string, place, check placeFunc, batch, n int) (result, error) {
	r := result{nodes: len(w.base.Nodes), batch: batch, impl: impl}
	n = min(n, len(w.tasks))
	warm := newCluster(w.base) // one untimed call first
	place(warm.snap, w.tasks[:min(batch, n)])
	c := newCluster(w.base)
	runtime.GC()
	for off := 0; off < n; off += batch {
		ts := w.tasks[off:min(off+batch, n)]
		start := time.Now()
		plan := place(c.snap, ts)
		d := time.Since(start)
		r.total += d
		r.perTask = append(r.perTask, d/time.Duration(len(ts)))
		r.placed += len(ts)
		r.unplaced += len(plan.Unplaced)
		for _, a := range plan.Assignments {
			if a.Local {
				r.local++
			}
		}
		if check != nil {
			if want := check(c.snap, ts); !reflect.DeepEqual(plan, want) {
				return r, fmt.Errorf("%s: call at task %d: plan differs from the reference", impl, off)
			}
		}
		c.book(plan, ts)
	}
	return r, nil
}
