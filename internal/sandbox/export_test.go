package sandbox

import "time"

// Deadline is the timer a run uses, for tests that fake it.
type Deadline = deadline

// SetAfterFunc replaces how r starts a run's deadline timer (default
// time.AfterFunc). Call it before the first Run.
func SetAfterFunc(r *Runtime, f func(time.Duration, func()) Deadline) { r.afterFunc = f }
