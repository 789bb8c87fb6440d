package sandbox

import (
	"io"
	"os"
	"time"
)

// Limits bound one run. Zero fields take the defaults in DefaultLimits;
// callers clamp them to the account's caps before running.
type Limits struct {
	Memory      int64         // bytes of linear memory (rounded down to 64 KiB pages); default 64 MiB
	Timeout     time.Duration // wall clock from when a worker is assigned to exit (not counting time queued for one); default 10 s
	StdoutBytes int64         // default 64 MiB
	StderrBytes int64         // default 1 MiB
	OutFiles    int           // files the guest may create in /out; default 64
	OutBytes    int64         // total bytes in /out; default 256 MiB
	TmpFiles    int           // files in /tmp; default 256
	TmpBytes    int64         // total bytes in /tmp (held in memory); default 64 MiB
}

// DefaultLimits are the limits a run gets when it asks for nothing.
func DefaultLimits() Limits {
	return Limits{
		Memory: 64 << 20, Timeout: 10 * time.Second,
		StdoutBytes: 64 << 20, StderrBytes: 1 << 20,
		OutFiles: 64, OutBytes: 256 << 20,
		TmpFiles: 256, TmpBytes: 64 << 20,
	}
}

// Overlay returns l with every positive field of o in its place.
func (l Limits) Overlay(o Limits) Limits {
	pick := func(dst *int64, v int64) {
		if v > 0 {
			*dst = v
		}
	}
	pick(&l.Memory, o.Memory)
	pick((*int64)(&l.Timeout), int64(o.Timeout))
	pick(&l.StdoutBytes, o.StdoutBytes)
	pick(&l.StderrBytes, o.StderrBytes)
	pick(&l.OutBytes, o.OutBytes)
	pick(&l.TmpBytes, o.TmpBytes)
	if o.OutFiles > 0 {
		l.OutFiles = o.OutFiles
	}
	if o.TmpFiles > 0 {
		l.TmpFiles = o.TmpFiles
	}
	return l
}

// Input is a read-only file mounted under /in. Exactly one of File or
// Bytes is set.
type Input struct {
	// Path is the file's path below /in ("data.csv", "logs/a.log"); it is
	// cleaned and may not escape /in.
	Path string
	// File is an open object data file in the store's block-checksummed
	// format (internal/store/blockfile) holding Size bytes; every read is
	// verified. The runtime does not close it.
	File *os.File
	Size int64
	// Bytes is an in-memory input.
	Bytes []byte
}

// Stdin is the guest's standard input. At most one field is set; none
// means an empty stdin.
type Stdin struct {
	Reader io.Reader // e.g. an HTTP request body, streamed
	File   *os.File  // an object data file in blockfile format, Size bytes
	Size   int64
}

// Spec is one run.
type Spec struct {
	// ModuleID identifies the compiled module (the app's content hash).
	ModuleID string
	// Wasm returns the module bytes; called only when ModuleID is not yet
	// compiled where the run executes.
	Wasm func() ([]byte, error)
	// Args is argv, Args[0] being the program name.
	Args []string
	// Env is the environment as "KEY=VALUE" strings.
	Env    []string
	Stdin  Stdin
	Stdout io.Writer // nil discards; writes stop at Limits.StdoutBytes
	Stderr io.Writer // nil discards; writes stop at Limits.StderrBytes
	Inputs []Input
	Limits Limits
	// Deterministic gives a fixed clock (2000-01-01T00:00:00Z advancing
	// 1 ms per read) and randomness seeded with Seed, so a run replays.
	Deterministic bool
	Seed          int64
}

// Status says how a run ended.
type Status string

// Run statuses.
const (
	StatusExited  Status = "exited"  // the guest exited (ExitCode says how)
	StatusTimeout Status = "timeout" // stopped at Limits.Timeout
	StatusMemory  Status = "memory"  // exceeded Limits.Memory
	StatusQuota   Status = "quota"   // exceeded a byte or file quota
	StatusTrap    Status = "trap"    // the guest trapped (unreachable, bad access, stack overflow)
	StatusKilled  Status = "killed"  // cancelled by the caller
	StatusError   Status = "error"   // insitu could not run it
)

// Output is a file the guest left in /out. Its bytes are in a host file
// the caller must read, then remove with Result.Cleanup.
type Output struct {
	Path     string // below /out
	Size     int64
	HostPath string
}

// Result describes a finished run.
type Result struct {
	Status   Status
	ExitCode int    // the guest's exit code when Status is StatusExited; -1 otherwise
	Reason   string // human-readable cause when the run did not exit 0
	// Outputs are the files in /out, set only when the guest exited 0.
	Outputs []Output
	// Wall is the run's execution time: from when a worker was assigned
	// to the end. Time spent waiting for a worker is Queued.
	Wall   time.Duration
	Queued time.Duration // waiting for a free worker before the run started
	// CPU is the user+system CPU of the run's worker process since its
	// previous run ended: the run, and making its instance and scrubbing
	// the previous run's memory between runs; where measurable.
	CPU time.Duration
	// PeakMemory is the largest linear memory size the guest reached.
	PeakMemory  int64
	StdinBytes  int64
	StdoutBytes int64
	StderrBytes int64
	InputBytes  int64 // bytes read from /in files
	OutputBytes int64 // bytes written to /out files
	// Cleanup removes the host files behind Outputs; safe to call twice.
	Cleanup func() `json:"-"`
}
