package jobs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"sync"

	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
)

// errUpstreamFailed ends a downstream task's stdin when a task it reads
// failed (the job is failing; the downstream task is cancelled).
var errUpstreamFailed = errors.New("jobs: an upstream task failed")

// MaxLineBytes is the longest line, newline included, that a
// key-partitioned reducer accepts from the previous phase (1 MiB): the
// reader holds one whole line to hash its key, so the cap bounds its
// memory. A longer line fails the reducing task with ErrLineTooLong.
// Unpartitioned reducers stream bytes and have no line limit.
const MaxLineBytes = 1 << 20

// ErrLineTooLong fails a key-partitioned reducer fed a line longer than
// MaxLineBytes.
var ErrLineTooLong = errors.New("jobs: a line is longer than the 1 MiB limit of key-partitioned reduce")

// phaseOutputs tracks a phase's task outputs as they complete, so that the
// next phase can read them in task order while later ones still run.
type phaseOutputs struct {
	done []chan struct{} // closed when task i is final
	ok   []bool          // written before done[i] is closed
	obj  []runs.ObjectRef
}

func newPhaseOutputs(n int, out func(i int) runs.ObjectRef) *phaseOutputs {
	po := &phaseOutputs{done: make([]chan struct{}, n), ok: make([]bool, n), obj: make([]runs.ObjectRef, n)}
	for i := range n {
		po.done[i] = make(chan struct{})
		po.obj[i] = out(i)
	}
	return po
}

// finish marks task i final (once).
func (po *phaseOutputs) finish(i int, ok bool) {
	select {
	case <-po.done[i]:
	default:
		po.ok[i] = ok
		close(po.done[i])
	}
}

// upstreamReader is a reducer's stdin: the outputs of the upstream tasks
// idx, in that order, each read once it is complete. With parts > 1 it
// passes only the lines whose key hashes to part.
type upstreamReader struct {
	ctx    context.Context
	engine store.Engine
	po     *phaseOutputs
	idx    []int
	pos    int
	cur    io.ReadCloser
	br     *bufio.Reader
	part   int
	parts  int // 0: whole outputs, no partitioning
	line   []byte
	buf    []byte // filtered bytes not yet returned

	// readMu is held through each Read and by Close, so the run's stdin
	// copier (a goroutine of the sandbox or of net/http's transport,
	// which may still be inside Read when the run has answered) and the
	// task closing the stream never touch cur at once.
	readMu sync.Mutex
	closed bool

	mu  sync.Mutex // guards err; never held while waiting
	err error      // the first failure other than io.EOF
}

func (u *upstreamReader) Read(p []byte) (int, error) {
	u.readMu.Lock()
	defer u.readMu.Unlock()
	if u.closed {
		return 0, errReaderClosed
	}
	n, err := u.read(p)
	if err != nil && err != io.EOF {
		u.mu.Lock()
		if u.err == nil {
			u.err = err
		}
		u.mu.Unlock()
		u.close()
	}
	return n, err
}

// errReaderClosed is what Read returns after Close.
var errReaderClosed = errors.New("jobs: upstream reader closed")

// Close releases the output being read (a local file or a peer's
// stream) when the run ended before reading all of it. It waits for a
// Read in progress; cancel the reader's ctx first so that one ends.
func (u *upstreamReader) Close() error {
	u.readMu.Lock()
	defer u.readMu.Unlock()
	u.closed = true
	u.close()
	return nil
}

// failure returns what ended the stream early, if anything.
func (u *upstreamReader) failure() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

func (u *upstreamReader) close() {
	if u.cur != nil {
		u.cur.Close()
		u.cur = nil
	}
}

func (u *upstreamReader) read(p []byte) (int, error) {
	for {
		if len(u.buf) > 0 {
			n := copy(p, u.buf)
			u.buf = u.buf[n:]
			return n, nil
		}
		if u.cur == nil {
			if u.pos == len(u.idx) {
				return 0, io.EOF
			}
			i := u.idx[u.pos]
			select {
			case <-u.po.done[i]:
			case <-u.ctx.Done():
				return 0, context.Cause(u.ctx)
			}
			if !u.po.ok[i] {
				return 0, errUpstreamFailed
			}
			ref := u.po.obj[i]
			_, rc, err := u.engine.GetObject(u.ctx, ref.Bucket, ref.Key, nil)
			if err != nil {
				return 0, err
			}
			u.cur = rc
			if u.parts > 0 {
				if u.br == nil {
					u.br = bufio.NewReaderSize(rc, 64<<10)
				} else {
					u.br.Reset(rc)
				}
			}
		}
		if u.parts == 0 {
			n, err := u.cur.Read(p)
			if err == io.EOF {
				u.close()
				u.pos++
				if n > 0 {
					return n, nil
				}
				continue
			}
			return n, err
		}
		if err := u.nextLine(); err != nil {
			return 0, err
		}
	}
}

// nextLine reads one line of the current output into u.buf when its key
// belongs to this partition, moving to the next output at EOF. A line
// longer than MaxLineBytes fails with ErrLineTooLong once the cap is
// passed, so at most MaxLineBytes plus one buffer are held.
func (u *upstreamReader) nextLine() error {
	u.line = u.line[:0]
	src := u.po.obj[u.idx[u.pos]]
	for {
		frag, err := u.br.ReadSlice('\n')
		u.line = append(u.line, frag...)
		if err == io.EOF && len(u.line) > 0 {
			u.line = append(u.line, '\n') // every line ends, even the last
		}
		if len(u.line) > MaxLineBytes {
			return fmt.Errorf("%w: in %s", ErrLineTooLong, src)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			u.close()
			u.pos++
			if len(u.line) == 0 {
				return nil
			}
			break
		}
		if err != nil {
			return err
		}
		break
	}
	if partitionOf(u.line, u.parts) == u.part {
		u.buf = u.line
	}
	return nil
}

// partitionOf returns the reducer a key<TAB>value line (ending in '\n')
// goes to: FNV-1a of the text before the first TAB (the whole line
// without its end when there is no TAB) modulo parts.
func partitionOf(line []byte, parts int) int {
	key := line[:len(line)-1]
	for i, c := range key {
		if c == '\t' {
			key = key[:i]
			break
		}
	}
	if n := len(key); n > 0 && key[n-1] == '\r' {
		key = key[:n-1]
	}
	h := fnv.New64a()
	h.Write(key)
	return int(h.Sum64() % uint64(parts))
}
