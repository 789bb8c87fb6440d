package sandbox_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/sandbox"
)

// fakeTimers stands in for time.AfterFunc: it records each run's deadline
// callback and never fires on its own. With fireInStop, Stop runs the
// callback and reports false, as a real timer does when it fires while
// the run is taking its result.
type fakeTimers struct {
	mu         sync.Mutex
	fireInStop bool
	pending    []func()
}

type fakeTimer struct {
	ft *fakeTimers
	f  func()
}

func (ft *fakeTimers) afterFunc(_ time.Duration, f func()) sandbox.Deadline {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.pending = append(ft.pending, f)
	return &fakeTimer{ft: ft, f: f}
}

// fireAll runs every callback recorded so far, late: after its run ended.
func (ft *fakeTimers) fireAll() {
	ft.mu.Lock()
	fs := ft.pending
	ft.pending = nil
	ft.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// ctxAfterFunc stands in for context.AfterFunc the same way.
func (ft *fakeTimers) ctxAfterFunc(_ context.Context, f func()) func() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.pending = append(ft.pending, f)
	return func() bool {
		if ft.fireInStop {
			f()
			return false
		}
		return true
	}
}

func (t *fakeTimer) Reset(time.Duration) bool { return true }

func (t *fakeTimer) Stop() bool {
	if t.ft.fireInStop {
		t.f()
		return false
	}
	return true
}

// Issue 8 item 8: a deadline or ctx callback that fires after its run
// took its result (Stop reported false, or the callback goroutine ran
// late) must not kill the worker under the next run, nor let a killed
// worker go back to the pool as healthy.
func TestLateDeadlineCallbackSparesNextRun(t *testing.T) {
	cases := []struct {
		name       string
		timer, ctx bool
		fireInStop bool
	}{
		{"deadline fires after release", true, false, false},
		{"deadline fires inside Stop", true, false, true},
		{"ctx callback fires after release", false, true, false},
		{"ctx callback fires inside stop", false, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newRuntime(t, 1)
			ft := &fakeTimers{fireInStop: tc.fireInStop}
			if tc.timer {
				sandbox.SetAfterFunc(r, ft.afterFunc)
			}
			if tc.ctx {
				sandbox.SetCtxAfterFunc(r, ft.ctxAfterFunc)
			}
			for i := range 3 {
				res, _, _ := mustRun(t, r, toolSpec(t, "exit", "0"))
				wantStatus(t, res, sandbox.StatusExited, "")
				ft.fireAll()
				spec := toolSpec(t, "cat")
				spec.Stdin.Reader = strings.NewReader("ok")
				res, out, _ := mustRun(t, r, spec)
				if res.Status != sandbox.StatusExited || res.ExitCode != 0 || out != "ok" {
					t.Fatalf("round %d: the run after a late callback: %s (%q), stdout %q", i, res.Status, res.Reason, out)
				}
				ft.fireAll()
			}
		})
	}
}
