// Package sandbox runs WebAssembly (WASI preview1) programs next to the
// data: one run is one guest in a fresh instance whose only I/O is the
// channels it was granted, stopped at its limits whatever it does.
//
// # Processes
//
// A Runtime keeps a pool of sandbox worker processes (this same binary
// re-executed; see WorkerMain) plus one warm spare. Workers execute guests
// with wazero at full speed: no WithCloseOnContextDone, whose checks slow
// loop-heavy code many times over and still miss recursion without loops.
// The parent enforces each run's deadline, and the caller's ctx, by
// SIGKILLing the worker (through a pidfd) and promoting the spare; so
// loops, exponential recursion and guests blocked in poll_oneoff or
// fd_read all stop, and their CPU is released. Those kills are confined to
// the run's kill window (proc.arm/killRun), so a late timer or ctx
// callback never reaches the worker's next run. Workers lead their own
// process group, die with the parent (Pdeathsig), get a minimal
// environment (none of the parent's secrets), and run in a cgroup v2 with
// memory.max and cpu.max where the machine lets us create one (a Warn is
// logged otherwise).
//
// Parent and worker talk over a SOCK_SEQPACKET socketpair with a small
// binary protocol (protocol.go): one request carrying file descriptors
// (SCM_RIGHTS) for stdin and /in object files, and one result carrying
// the last stdout/stderr bytes (a run writing more streams them back in
// messages first): one message each way for a short run. Each run gets a
// new instance, used once; a worker makes the next instance of the module
// it just ran while idle, and binds it to the next run of that module
// (ahead.go). Object data files are read by the
// worker in place (internal/store/blockfile verifies every block); no
// object byte passes through the parent. A worker compiles a ModuleID
// once and keeps it (the module bytes ride along with the first run of
// that module on that worker); an optional on-disk compilation cache has
// one directory per worker slot (wazero issue 2547).
//
// # Files
//
// The guest sees /in (read-only inputs), /out (create and write only;
// files land in a per-run host directory under Config.TempDir under names
// the worker picks, and come back in Result.Outputs when the guest exits
// 0) and /tmp (in worker memory, empty at every run). All three are
// insitu's own virtual filesystem (vfs*.go); no host directory is ever
// mounted and no guest-chosen name reaches the host.
//
// # Limits
//
// Memory is capped per run by a wazero memory allocator that refuses to
// grow past Limits.Memory (memory.grow returns -1, malloc returns NULL);
// a run that then fails is StatusMemory. Stdout, stderr, /out and /tmp
// quotas end the run at once with StatusQuota. Limits.Timeout is the
// wall-clock deadline counted from when a worker is assigned (time queued
// for a worker is Result.Queued, not part of Result.Wall).
//
// # Concurrency
//
// Run is safe for concurrent use; at most Config.Workers runs execute at
// once. Close is idempotent and waits for every goroutine the Runtime
// started (worker reapers, respawns, stdin copies; see Runtime.Close for
// the bound on copies stuck in a caller's Reader). Validate is a plain function, safe for concurrent use. There is no
// package-level mutable state.
package sandbox
