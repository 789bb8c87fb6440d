// Package jobs runs map/reduce jobs over stored objects: a job is a list
// of phases, each a set of runs of one app (internal/runs), placed by the
// pure scheduler (internal/scheduler) on the node holding the data and
// executed in the node's shared, fair slot pool.
//
//   - Map: one task per input object (phase 0) or per task of the previous
//     phase; the object is on stdin and mounted under /in by its base name.
//   - Reduce: 1..128 tasks fed the previous phase's outputs on stdin. By
//     default reducer r reads a contiguous range of the upstream tasks in
//     task order; with Partition every reducer reads every upstream output
//     and keeps the lines (key<TAB>value, the key being the text before the
//     first TAB, or the whole line) whose key hashes (FNV-1a) to it, so
//     each key reaches exactly one reducer.
//   - Phases stream: a downstream task may start as soon as one of its
//     inputs is done and reads the rest in order as they complete (its
//     stdin blocks until the next upstream output exists). Streaming tasks
//     hold a slot while they wait, so at most slots-1 of them run at once
//     and one slot is always left for the work they wait on.
//
// Each task's stdout becomes the object OUT/<phase>/<task> (six digits),
// kept even when the task fails (runs.Request.KeepPartial); a non-empty
// stderr becomes OUT/<phase>/<task>.stderr. Every attempt has a run record
// whose id is in the task's state.
//
// In a cluster (Config.Cluster) tasks are placed over the live nodes and
// run there through runs' internal endpoint; a task whose node is lost is
// placed again without it (place.go, DESIGN.md "Compute on the data").
//
// Retries: an infrastructure failure (sandbox.StatusError, e.g. a worker
// process died) is retried up to 3 times; a guest failure only Spec.Retries
// times. A task that still fails fails the job: tasks of its phase and the
// earlier ones finish (their outputs are kept), later phases stop.
//
// An app removed (or made private) while its job runs: runs already
// started finish, every task of its phase not started yet is refused (no
// run; its error says "app NAME is gone"), the job fails, and the outputs
// of finished tasks are kept.
//
// Inputs given as prefixes or globs skip the default outputs of earlier
// jobs (keys under .insitu-jobs/), so a job over a whole bucket does not
// read them unless asked to by that prefix.
//
// State lives in meta: the summary at "jobs/<account>/<id>" and the task
// list in chunks at "jobtasks/<account>/<id>/<phase>/<chunk>", written in
// batches (at most every FlushInterval, and at the end), not per task. A
// node that restarts marks the jobs it was running failed ("interrupted").
//
// A Service is safe for concurrent use.
package jobs
