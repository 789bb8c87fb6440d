package sandbox

import (
	"encoding/binary"
	"errors"
	"io"
)

// The parent and a worker talk over a SOCK_SEQPACKET socketpair, so every
// write is one message and message boundaries need no framing. Each
// message starts with a type byte; integers are (u)varints and strings and
// byte slices are uvarint-length-prefixed. File descriptors ride along as
// SCM_RIGHTS on the run request. No JSON, no reflection: the hot path is
// one request, zero or more stream messages and one result.
const (
	msgHello   = 'H' // worker → parent: ready; payload: cumulative CPU ns
	msgRun     = 'Q' // parent → worker: request inline
	msgRunFD   = 'F' // parent → worker: request in the first passed fd (a memfd)
	msgStdout  = 'O' // worker → parent: stdout bytes
	msgStderr  = 'E' // worker → parent: stderr bytes
	msgOutputs = 'P' // worker → parent: a batch of /out files
	msgResult  = 'R' // worker → parent: the run's result and the streams' last bytes; ends the run
	msgStarted = 'S' // worker → parent: compiled a new module; the guest starts now (a direct worker: ready)
	msgDirect  = 'D' // parent → worker: serve direct connections from now on (direct.go)
	msgConn    = 'C' // parent → direct worker: a client connection, its fd passed
	msgClosed  = 'c' // direct worker → parent: a connection was closed
	msgDrain   = 'd' // parent → direct worker: finish the requests in progress, then exit
	msgDrained = 'e' // direct worker → parent: it takes no new request
	msgRetire  = 'r' // parent → direct worker: close each connection after its next response, then exit
	msgBack    = 'b' // direct worker → parent: a connection handed back, with the bytes read from it

	// maxMsg bounds every message: SEQPACKET messages must fit the socket
	// buffer (wmem_default, typically 208 KiB).
	maxMsg = 64 << 10
	// streamChunk is the largest stdout/stderr payload per message.
	streamChunk = 32 << 10
)

// Stdin and input kinds on the wire.
const (
	srcNone   = 0 // empty
	srcInline = 1 // bytes in the request
	srcPipe   = 2 // a plain fd read to EOF (stdin) or to Size (inputs)
	srcBlock  = 3 // a blockfile fd holding Size data bytes
	srcLocal  = 4 // a reader in the worker (a direct run's request body); never on the wire
)

// request is one run as the worker sees it.
type request struct {
	moduleID      string
	wasm          []byte // nil when the worker already has moduleID
	args, env     []string
	deterministic bool
	seed          int64
	discardOut    bool // Spec.Stdout is nil: count, do not send
	discardErr    bool
	lim           Limits
	stdinKind     byte
	stdinData     []byte
	stdinSize     int64
	inputs        []wireInput
	outDir        string // host directory for /out files (created on demand)
	// A direct run's stdin and stdout, in the worker (never on the wire).
	stdinLocal  io.Reader
	stdoutLocal io.Writer
}

type wireInput struct {
	path string
	kind byte
	data []byte
	size int64
}

// nfds is how many fds accompany the request, in order: stdin (when
// srcPipe or srcBlock), then each srcPipe/srcBlock input.
func (q *request) nfds() int {
	n := 0
	if q.stdinKind == srcPipe || q.stdinKind == srcBlock {
		n++
	}
	for _, in := range q.inputs {
		if in.kind == srcPipe || in.kind == srcBlock {
			n++
		}
	}
	return n
}

// wireResult is a run's result as the worker reports it.
type wireResult struct {
	status     Status
	exitCode   int64
	reason     string
	peak       int64
	cpu        int64 // ns used by the worker during the run
	cumCPU     int64 // worker's cumulative CPU ns after the run
	stdin      int64
	stdout     int64
	stderr     int64
	input      int64
	output     int64
	compiledOK bool // the worker now holds the module
	outDirMade bool // the run created its /out directory on the host
	ahead      bool // the run used an instance made ahead of time
	// tailOut and tailErr are the last stdout and stderr bytes, sent
	// inside the result (they alias the message buffer when decoded).
	tailOut, tailErr []byte
}

type wireOutput struct {
	path string
	size int64
	host string // file name inside the run's out dir
}

var statuses = []Status{"", StatusExited, StatusTimeout, StatusMemory, StatusQuota, StatusTrap, StatusKilled, StatusError}

func statusCode(s Status) uint64 {
	for i, x := range statuses {
		if x == s {
			return uint64(i)
		}
	}
	return uint64(len(statuses) - 1)
}

// enc appends wire values to a reusable buffer.
type enc struct{ b []byte }

func (e *enc) u(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) i(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) s(v string)  { e.u(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) bs(v []byte) { e.u(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) bool(v bool) { e.b = append(e.b, b2u(v)) }
func (e *enc) strs(v []string) {
	e.u(uint64(len(v)))
	for _, x := range v {
		e.s(x)
	}
}

func b2u(v bool) byte {
	if v {
		return 1
	}
	return 0
}

var errShort = errors.New("sandbox: short or malformed message")

// dec reads wire values; the first error sticks and zero values follow.
type dec struct {
	b   []byte
	err error
}

func (d *dec) u() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) i() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bs returns a slice aliasing the message buffer.
func (d *dec) bs() []byte {
	n := d.u()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) s() string { return string(d.bs()) }

func (d *dec) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) < 1 {
		d.err = errShort
		return false
	}
	v := d.b[0] != 0
	d.b = d.b[1:]
	return v
}

func (d *dec) strs() []string {
	n := d.u()
	if n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	v := make([]string, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		v = append(v, d.s())
	}
	return v
}

func (q *request) encode(e *enc) {
	e.s(q.moduleID)
	e.bool(q.wasm != nil)
	if q.wasm != nil {
		e.bs(q.wasm)
	}
	e.strs(q.args)
	e.strs(q.env)
	e.bool(q.deterministic)
	e.i(q.seed)
	e.bool(q.discardOut)
	e.bool(q.discardErr)
	l := q.lim
	for _, v := range []int64{l.Memory, l.StdoutBytes, l.StderrBytes, int64(l.OutFiles), l.OutBytes, int64(l.TmpFiles), l.TmpBytes} {
		e.i(v)
	}
	e.b = append(e.b, q.stdinKind)
	e.bs(q.stdinData)
	e.i(q.stdinSize)
	e.u(uint64(len(q.inputs)))
	for _, in := range q.inputs {
		e.s(in.path)
		e.b = append(e.b, in.kind)
		e.bs(in.data)
		e.i(in.size)
	}
	e.s(q.outDir)
}

// decode fills q from b; byte slices alias b.
func (q *request) decode(b []byte) error {
	d := &dec{b: b}
	q.moduleID = d.s()
	q.wasm = nil
	if d.bool() {
		q.wasm = d.bs()
	}
	q.args = d.strs()
	q.env = d.strs()
	q.deterministic = d.bool()
	q.seed = d.i()
	q.discardOut = d.bool()
	q.discardErr = d.bool()
	q.lim = Limits{Memory: d.i(), StdoutBytes: d.i(), StderrBytes: d.i(), OutFiles: int(d.i()),
		OutBytes: d.i(), TmpFiles: int(d.i()), TmpBytes: d.i()}
	if d.err == nil && len(d.b) > 0 {
		q.stdinKind = d.b[0]
		d.b = d.b[1:]
	} else {
		d.err = errShort
	}
	q.stdinData = d.bs()
	q.stdinSize = d.i()
	n := d.u()
	if n > uint64(len(d.b)) {
		return errShort
	}
	q.inputs = q.inputs[:0]
	for i := uint64(0); i < n && d.err == nil; i++ {
		var in wireInput
		in.path = d.s()
		if d.err == nil && len(d.b) > 0 {
			in.kind = d.b[0]
			d.b = d.b[1:]
		} else {
			d.err = errShort
		}
		in.data = d.bs()
		in.size = d.i()
		q.inputs = append(q.inputs, in)
	}
	q.outDir = d.s()
	return d.err
}

func (r *wireResult) encode(e *enc) {
	e.u(statusCode(r.status))
	e.i(r.exitCode)
	e.s(r.reason)
	for _, v := range []int64{r.peak, r.cpu, r.cumCPU, r.stdin, r.stdout, r.stderr, r.input, r.output} {
		e.i(v)
	}
	e.bool(r.compiledOK)
	e.bool(r.outDirMade)
	e.bool(r.ahead)
}

func (r *wireResult) decode(b []byte) error {
	d := &dec{b: b}
	c := d.u()
	if c >= uint64(len(statuses)) || c == 0 {
		c = uint64(len(statuses) - 1)
	}
	r.status = statuses[c]
	r.exitCode = d.i()
	r.reason = d.s()
	r.peak, r.cpu, r.cumCPU = d.i(), d.i(), d.i()
	r.stdin, r.stdout, r.stderr, r.input, r.output = d.i(), d.i(), d.i(), d.i(), d.i()
	r.compiledOK = d.bool()
	r.outDirMade = d.bool()
	r.ahead = d.bool()
	r.tailOut = d.bs()
	r.tailErr = d.bs()
	return d.err
}

func encodeOutputs(e *enc, outs []wireOutput) {
	e.u(uint64(len(outs)))
	for _, o := range outs {
		e.s(o.path)
		e.i(o.size)
		e.s(o.host)
	}
}

func decodeOutputs(b []byte, outs []wireOutput) ([]wireOutput, error) {
	d := &dec{b: b}
	n := d.u()
	if n > uint64(len(b)) {
		return outs, errShort
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		outs = append(outs, wireOutput{path: d.s(), size: d.i(), host: d.s()})
	}
	return outs, d.err
}
