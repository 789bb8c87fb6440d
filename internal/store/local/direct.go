package local

import (
	"errors"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Direct I/O geometry: a data file's bytes are gathered in an aligned
// buffer of directChunk bytes and written with O_DIRECT, a chunk at a time.
const (
	directChunk = 1 << 20
	directAlign = 4096
)

// directFile is a data file written with O_DIRECT: the bytes go from the
// engine's buffer to the device without being copied into the page cache
// and written back from there. On this machine that copy was a third of
// the CPU of a replicated 16 MiB PUT (perf: copy_folio_from_iter_atomic),
// and the write-back walk after it more. Writes are gathered in an aligned
// buffer from pool; a whole chunk is written at once. Sync writes what is
// left (its unaligned tail through the page cache, with O_DIRECT cleared)
// and then fdatasyncs, on which durability rests as for any other file:
// O_DIRECT alone does not flush the device's cache nor the file's size.
//
// A full chunk is written by a goroutine of its own while the caller
// fills the other of two buffers, so the device works while the next
// megabyte arrives and is hashed (a PUT at one connection otherwise waits
// for each write in turn); at most one write is in flight, and every
// other method waits for it first (wait), so d.f, d.direct and the
// chunk are only ever used by one goroutine at a time. A write's error
// is returned by the next call.
//
// A filesystem that refuses O_DIRECT at open gets a writebackFile instead
// (osFS.Create); one that refuses a direct write gets the write again
// through the page cache, and the file stays buffered. Memory: two
// directChunk buffers per file being written (the second from its first
// full chunk), back to the pool at Close. Not safe for concurrent use,
// like the file it wraps.
type directFile struct {
	f      *os.File
	pool   *sync.Pool // *[]byte of directChunk bytes, aligned
	bufp   *[]byte    // being filled
	spare  *[]byte    // the chunk in flight or the next to fill; nil at first
	n      int        // bytes pending in *bufp
	direct bool       // O_DIRECT is still set on f
	// readBack: once synced, the file is read back into the page cache
	// (store.CacheReadBack).
	readBack bool
	err      error
	busy     bool       // a chunk write is in flight; done gets its result
	done     chan error // capacity 1
	closed   func()     // called once, by Close
}

func newDirectFile(f *os.File, pool *sync.Pool, closed func()) *directFile {
	return &directFile{f: f, pool: pool, bufp: pool.Get().(*[]byte), direct: true,
		done: make(chan error, 1), closed: closed}
}

// wait waits for the chunk write in flight, if any, and returns the
// file's error.
func (d *directFile) wait() error {
	if d.busy {
		d.busy = false
		if err := <-d.done; err != nil && d.err == nil {
			d.err = err
		}
	}
	return d.err
}

// writeChunk starts writing the full buffer on a goroutine and swaps in
// the other buffer to fill; the write before it must have ended.
func (d *directFile) writeChunk() error {
	if err := d.wait(); err != nil {
		return err
	}
	if d.spare == nil {
		d.spare = d.pool.Get().(*[]byte)
	}
	full := *d.bufp
	d.bufp, d.spare = d.spare, d.bufp
	d.n = 0
	d.busy = true
	go func() { d.done <- d.writeOut(full) }()
	return nil
}

// newAlignedChunk returns a directChunk-byte slice whose start is aligned
// to directAlign, as O_DIRECT needs of its buffers.
func newAlignedChunk() *[]byte {
	raw := make([]byte, directChunk+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(&raw[0]))%directAlign)) % directAlign
	b := raw[skip : skip+directChunk : skip+directChunk]
	return &b
}

func (d *directFile) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	total := len(p)
	for len(p) > 0 {
		buf := *d.bufp
		c := copy(buf[d.n:], p)
		d.n += c
		p = p[c:]
		if d.n == len(buf) {
			if err := d.writeChunk(); err != nil {
				return total - len(p) - c, err
			}
		}
	}
	return total, nil
}

// Space returns the free part of the pending buffer, for a caller that
// reads a body straight into it (blockfile.Lender); Fill takes it.
func (d *directFile) Space() []byte { return (*d.bufp)[d.n:] }

// Fill takes n bytes put in Space as written, writing the buffer out
// when it is full.
func (d *directFile) Fill(n int) error {
	if d.err != nil {
		return d.err
	}
	if d.n += n; d.n == len(*d.bufp) {
		return d.writeChunk()
	}
	return nil
}

// writeOut writes b at the file's offset: directly while O_DIRECT holds
// (b aligned in address and length), else through the page cache.
func (d *directFile) writeOut(b []byte) error {
	n, err := d.f.Write(b)
	if err != nil && d.direct && errors.Is(err, unix.EINVAL) {
		// The filesystem took O_DIRECT at open but not this write (or
		// not the unaligned rest of a short one): the rest, buffered.
		if err = d.buffered(); err == nil {
			_, err = d.f.Write(b[n:])
		}
	}
	return err
}

// buffered clears O_DIRECT: the file's remaining writes use the page cache.
func (d *directFile) buffered() error {
	if !d.direct {
		return nil
	}
	fd := int(d.f.Fd())
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err == nil {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_DIRECT)
	}
	if err != nil {
		return err
	}
	d.direct = false
	return nil
}

// drain writes the pending bytes: their aligned head directly, the rest
// through the page cache.
func (d *directFile) drain() error {
	if err := d.wait(); err != nil || d.n == 0 {
		return err
	}
	buf := *d.bufp
	head := d.n &^ (directAlign - 1)
	if head > 0 && d.direct {
		if d.err = d.writeOut(buf[:head]); d.err != nil {
			return d.err
		}
		d.n = copy(buf, buf[head:d.n])
	}
	if d.n > 0 {
		if d.err = d.buffered(); d.err == nil {
			d.err = d.writeOut(buf[:d.n])
		}
	}
	d.n = 0
	return d.err
}

// Sync makes every byte written so far durable: the pending bytes are
// written, then fdatasync. With readBack it then asks the kernel to read
// the file into the page cache (the device does it, by DMA; the call
// starts the reads and does not wait for them).
func (d *directFile) Sync() error {
	if err := d.drain(); err != nil {
		return err
	}
	fd := int(d.f.Fd())
	if err := unix.Fdatasync(fd); err != nil {
		return err
	}
	if d.readBack {
		_ = unix.Fadvise(fd, 0, 0, unix.FADV_WILLNEED) // advisory
	}
	return nil
}

// Close writes the pending bytes (without syncing them), returns the
// buffer to its pool and closes the file.
func (d *directFile) Close() error {
	if d.bufp == nil {
		return os.ErrClosed
	}
	err := d.drain()
	d.pool.Put(d.bufp)
	if d.spare != nil {
		d.pool.Put(d.spare)
	}
	d.bufp, d.spare = nil, nil
	err = errors.Join(err, d.f.Close())
	d.closed()
	return err
}
