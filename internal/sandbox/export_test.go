package sandbox

import (
	"context"
	"time"
)

// Deadline is the timer a run uses, for tests that fake it.
type Deadline = deadline

// SetAfterFunc replaces how r starts a run's deadline timer (default
// time.AfterFunc). Call it before the first Run.
func SetAfterFunc(r *Runtime, f func(time.Duration, func()) Deadline) { r.afterFunc = f }

// SetCtxAfterFunc replaces how r arranges a run's ctx callback (default
// context.AfterFunc). Call it before the first Run.
func SetCtxAfterFunc(r *Runtime, f func(context.Context, func()) func() bool) { r.ctxAfterFunc = f }

// MessagesIn is how many messages r's runs have read from workers.
func MessagesIn(r *Runtime) uint64 { return r.msgsIn.Load() }

// AheadRuns is how many of r's runs used an instance made ahead of time.
func AheadRuns(r *Runtime) uint64 { return r.aheadRuns.Load() }

// HasStartSection is hasStartSection, for the fuzz target.
var HasStartSection = hasStartSection
