// Package admit is admission control for sandbox runs: a counting
// semaphore of run slots shared fairly between tenants (accounts, and the
// anonymous callers of public services as one tenant of their own).
//
// Every run on a node passes through one Queue before it opens its inputs
// or takes a sandbox worker. A tenant may hold at most PerTenantRunning
// slots and wait for at most PerTenantQueued more; past that Enqueue
// answers ErrBusy at once, so one tenant cannot pile up unbounded work
// (goroutines, open connections) on the node. When a slot frees, it goes
// to the waiting tenant with the fewest running slots, and among equals
// the one served least recently: a tenant that saturates the node delays
// another tenant's run by at most the length of one of its runs.
//
// Time spent queued is not the run's: callers start a run's clock only
// once Wait returns.
package admit
