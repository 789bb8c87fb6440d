package blockfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/store"
)

const (
	// BlockSize is the block size new files are written with.
	BlockSize   = 64 << 10
	blockSize   = BlockSize
	trailerSize = 24
	fileMagic   = "insitub1"
	// tableWindow is how many CRC entries a reader loads at once (64 KiB).
	tableWindow = 16 << 10
)

// SyncWriter is what a Writer writes to: an *os.File, or any file whose
// Sync makes the bytes written so far durable.
type SyncWriter interface {
	io.Writer
	Sync() error
}

// ReadFile is what a File reads from: an *os.File, or any file that can
// report its size and read at an offset.
type ReadFile interface {
	io.ReaderAt
	io.Closer
	Stat() (fs.FileInfo, error)
}

// Lender is a SyncWriter that lends the free part of its own write
// buffer (Space), so a body can be read straight into it and taken as
// written (Fill): no copy on the way to the device.
type Lender interface {
	SyncWriter
	// Space is the buffer's free part, never empty.
	Space() []byte
	// Fill takes the first n bytes of the last Space as written.
	Fill(n int) error
}

// Writer streams bytes into a data file, computing block CRCs. It is
// not safe for concurrent use. Memory: one block buffer plus 4 bytes per
// block written.
type Writer struct {
	f    SyncWriter
	buf  []byte // len blockSize
	n    int    // bytes pending in buf
	crcs []uint32
	size int64
	cur  uint32 // CRC of the block being written, curN bytes so far
	curN int
	lent []byte // the last Space of a Lender file
}

// NewWriter returns a Writer appending to f (usually an *os.File). buf (at least BlockSize bytes
// of capacity, or nil) is the block buffer.
func NewWriter(f SyncWriter, buf []byte) *Writer {
	if cap(buf) < blockSize {
		buf = make([]byte, blockSize)
	}
	return &Writer{f: f, buf: buf[:blockSize]}
}

// Write appends p to the data section.
func (w *Writer) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if w.n == 0 && len(p) >= blockSize {
			// Whole block straight from the caller's buffer.
			if err := w.writeBlock(p[:blockSize]); err != nil {
				return total - len(p), err
			}
			p = p[blockSize:]
			continue
		}
		c := copy(w.buf[w.n:], p)
		w.n += c
		p = p[c:]
		if w.n == blockSize {
			if err := w.writeBlock(w.buf); err != nil {
				return total - len(p), err
			}
			w.n = 0
		}
	}
	return total, nil
}

func (w *Writer) writeBlock(b []byte) error {
	if _, err := w.f.Write(b); err != nil {
		return err
	}
	w.sum(b)
	return nil
}

// sum counts p as the data's next bytes in the block CRCs.
func (w *Writer) sum(p []byte) {
	w.size += int64(len(p))
	for len(p) > 0 {
		k := min(len(p), blockSize-w.curN)
		w.cur = checksum.BlockCRCUpdate(w.cur, p[:k])
		w.curN += k
		p = p[k:]
		if w.curN == blockSize {
			w.crcs = append(w.crcs, w.cur)
			w.cur, w.curN = 0, 0
		}
	}
}

// DataCRC returns the CRC-32C of all the data given so far, folded from
// the block CRCs (checksum.CombineCRC32C) instead of a second pass over
// the bytes; bytes still pending in the block buffer are hashed here.
func (w *Writer) DataCRC() uint32 {
	var total uint32
	for _, c := range w.crcs {
		total = checksum.CombineCRC32C(total, c, blockSize)
	}
	if w.curN > 0 {
		total = checksum.CombineCRC32C(total, w.cur, int64(w.curN))
	}
	if w.n > 0 {
		total = checksum.CombineCRC32C(total, checksum.BlockCRC(w.buf[:w.n]), int64(w.n))
	}
	return total
}

// Space returns where the next bytes of the data may be put in place:
// the file's own buffer when it is a Lender, else the Writer's block
// buffer. Fill then takes n of them as written. Never empty.
func (w *Writer) Space() []byte {
	if l, ok := w.f.(Lender); ok && w.n == 0 {
		w.lent = l.Space()
		return w.lent
	}
	w.lent = nil
	return w.buf[w.n:]
}

// Fill takes the first n bytes of the last Space as the data's next.
func (w *Writer) Fill(n int) error {
	if w.lent != nil {
		w.sum(w.lent[:n])
		return w.f.(Lender).Fill(n)
	}
	if w.n += n; w.n == blockSize {
		w.n = 0
		return w.writeBlock(w.buf)
	}
	return nil
}

// Finish flushes the last block, writes the CRC table and the trailer and
// fsyncs the file. The file stays open.
func (w *Writer) Finish() error {
	if w.n > 0 {
		if err := w.writeBlock(w.buf[:w.n]); err != nil {
			return err
		}
		w.n = 0
	}
	if w.curN > 0 {
		w.crcs = append(w.crcs, w.cur)
		w.cur, w.curN = 0, 0
	}
	tab := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	out := w.buf[:0]
	var e [4]byte
	for _, c := range w.crcs {
		binary.LittleEndian.PutUint32(e[:], c)
		out = append(out, e[:]...)
		if len(out) == cap(out) {
			tab.Write(out)
			if _, err := w.f.Write(out); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	tab.Write(out)
	var t [trailerSize]byte
	copy(t[:8], fileMagic)
	binary.LittleEndian.PutUint32(t[8:], blockSize)
	binary.LittleEndian.PutUint64(t[12:], uint64(w.size))
	binary.LittleEndian.PutUint32(t[20:], tab.Sum32())
	out = append(out, t[:]...)
	if _, err := w.f.Write(out); err != nil {
		return err
	}
	return w.f.Sync()
}

// corruptf returns an error wrapping store.ErrCorrupt.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrCorrupt, fmt.Sprintf(format, args...))
}

// File is an open data file whose trailer has been validated.
type File struct {
	f       ReadFile
	path    string
	bs      int64
	dataLen int64
	blocks  int64
	tabCRC  uint32
}

// Open opens path and validates its trailer against the expected
// data length (-1 to skip that check).
func Open(path string, wantLen int64) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	bf, err := Check(f, path, wantLen)
	if err != nil {
		f.Close()
		return nil, err
	}
	return bf, nil
}

// Check validates the trailer of the open file f (usually an *os.File,
// named name in errors)
// against the expected data length (-1 to skip that check). The File does
// not own f beyond Reader.Close.
func Check(f ReadFile, name string, wantLen int64) (*File, error) {
	path := name
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < trailerSize {
		return nil, corruptf("%s: %d bytes, shorter than a trailer", path, st.Size())
	}
	var t [trailerSize]byte
	if _, err := f.ReadAt(t[:], st.Size()-trailerSize); err != nil {
		return nil, fmt.Errorf("read trailer of %s: %w", path, err)
	}
	if string(t[:8]) != fileMagic {
		return nil, corruptf("%s: bad magic", path)
	}
	bs := int64(binary.LittleEndian.Uint32(t[8:]))
	n := int64(binary.LittleEndian.Uint64(t[12:]))
	if bs <= 0 || bs > 16<<20 || n < 0 {
		return nil, corruptf("%s: bad trailer (block size %d, length %d)", path, bs, n)
	}
	blocks := (n + bs - 1) / bs
	if n+4*blocks+trailerSize != st.Size() {
		return nil, corruptf("%s: file is %d bytes, trailer says %d data bytes", path, st.Size(), n)
	}
	if wantLen >= 0 && n != wantLen {
		return nil, corruptf("%s: holds %d bytes, index says %d", path, n, wantLen)
	}
	return &File{f: f, path: path, bs: bs, dataLen: n, blocks: blocks,
		tabCRC: binary.LittleEndian.Uint32(t[20:])}, nil
}

// Reader returns bytes [off, end) of a blockFile, reading and verifying
// whole blocks. It is not safe for concurrent use.
type Reader struct {
	bf         *File
	off, end   int64
	buf        []byte
	bufBlock   int64 // block held in buf, -1 for none
	bufLen     int64
	tab        []uint32
	tabFirst   int64
	tabRaw     []byte
	err        error
	release    func([]byte)
	closed     bool
	streams    *Streams // long reads in flight, or nil (CountIn)
	started    bool     // the read-ahead of the range was chosen
	counted    bool     // r is counted in streams until Close
	sequential bool     // the kernel was told the file is read sequentially
	ahead      int64    // offset up to which the kernel was asked to read (WILLNEED)
}

// NewReader reads [off, off+n) of bf. buf must hold at least one block;
// release (may be nil) gets it back on Close.
func (bf *File) NewReader(off, n int64, buf []byte, release func([]byte)) *Reader {
	if int64(cap(buf)) < bf.bs {
		buf = make([]byte, bf.bs)
		release = nil
	}
	return &Reader{bf: bf, off: off, end: off + n, buf: buf[:bf.bs], bufBlock: -1, release: release}
}

func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.off >= r.end {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	blk := r.off / r.bf.bs
	if blk != r.bufBlock {
		if err := r.load(blk); err != nil {
			r.err = err
			return 0, err
		}
	}
	start := blk * r.bf.bs
	stop := min(r.bufLen, r.end-start)
	c := copy(p, r.buf[r.off-start:stop])
	r.off += int64(c)
	return c, nil
}

// WriteTo streams the remaining bytes to w, block by block.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.err == nil && r.off < r.end {
		blk := r.off / r.bf.bs
		if blk != r.bufBlock {
			if err := r.load(blk); err != nil {
				r.err = err
				return total, err
			}
		}
		start := blk * r.bf.bs
		stop := min(r.bufLen, r.end-start)
		n, err := w.Write(r.buf[r.off-start : stop])
		r.off += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, r.err
}

func (r *Reader) load(blk int64) error {
	r.bufBlock = -1
	want, err := r.crc(blk)
	if err != nil {
		return err
	}
	start := blk * r.bf.bs
	n := min(r.bf.bs, r.bf.dataLen-start)
	r.readAhead(start)
	if _, err := r.bf.f.ReadAt(r.buf[:n], start); err != nil {
		if errors.Is(err, io.EOF) {
			return corruptf("%s: short block %d", r.bf.path, blk)
		}
		return err
	}
	if got := checksum.BlockCRC(r.buf[:n]); got != want {
		return corruptf("%s: block %d crc %08x, want %08x", r.bf.path, blk, got, want)
	}
	r.bufBlock, r.bufLen = blk, n
	return nil
}

// Read-ahead of a long range, chosen at its first block by how many
// long reads are in flight (Streams; a Reader without one counts as
// alone):
//
//   - Alone, the reader asks the kernel for the range itself (fadvise
//     WILLNEED of the next readAheadWindow bytes whenever it comes
//     within readAheadLow of what it asked for), so a 16 MiB object is
//     in the device's queue whole at its first block. The kernel's own
//     read-ahead grows its window by steps, each waiting on the device:
//     right after a burst of writes (the S3 GET row after the PUT rows)
//     one reader read cold 16 MiB objects at 431-555 MiB/s that way
//     against 754-991 with WILLNEED.
//   - With other long reads in flight, the device's queue is deep
//     anyway, and the reader tells the kernel the file is read
//     sequentially (fadvise SEQUENTIAL, which also doubles the file's
//     read-ahead window) and leaves the read-ahead to it: 16 readers
//     read cold at 1,726-2,342 MiB/s that way against 1,212-1,435 with
//     WILLNEED (BENCHMARKS.md, session 11; 2 vCPUs shared).
//
// Without either, the kernel's read-ahead does not follow a reader that
// read the trailer and CRC table at the file's end first (session 8),
// and a file written with O_DIRECT leaves nothing cached.
const (
	readAheadWindow = 64 << 20
	readAheadLow    = 32 << 20
)

// Streams counts the long reads in flight over a set of files (store/local:
// an engine's), so that each Reader can choose its read-ahead by it. The
// zero value is ready; safe for concurrent use.
type Streams struct{ n atomic.Int64 }

// CountIn makes r count itself in s from the first block of a long
// range until Close. Call it before the first Read.
func (r *Reader) CountIn(s *Streams) { r.streams = s }

// readAhead starts the read-ahead of the range after off when off is
// the first block of a long range or (alone) nears the end of what was
// asked for; only for files with a descriptor and ranges longer than a
// block.
func (r *Reader) readAhead(off int64) {
	if r.end-off <= r.bf.bs || r.sequential {
		return
	}
	fd, ok := r.bf.f.(interface{ Fd() uintptr })
	if !ok {
		return
	}
	if !r.started {
		r.started = true
		if r.streams != nil {
			r.counted = true
			if r.streams.n.Add(1) > 1 {
				r.sequential = true
				// Advisory: a failure only loses the read-ahead. Offset
				// and length are ignored: it holds for the open file.
				_ = unix.Fadvise(int(fd.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
				return
			}
		}
	}
	if off+readAheadLow < r.ahead {
		return
	}
	from := max(off, r.ahead)
	to := min(off+readAheadWindow, r.end)
	if to > from {
		// Advisory: a failure only loses the read-ahead.
		_ = unix.Fadvise(int(fd.Fd()), from, to-from, unix.FADV_WILLNEED)
		r.ahead = to
	}
}

// crc returns the stored CRC of block blk, loading a window of the table
// that covers blk and as many of the following blocks of the range as fit.
func (r *Reader) crc(blk int64) (uint32, error) {
	if blk >= r.tabFirst && blk < r.tabFirst+int64(len(r.tab)) {
		return r.tab[blk-r.tabFirst], nil
	}
	last := (r.end - 1) / r.bf.bs
	count := min(last-blk+1, tableWindow)
	if cap(r.tabRaw) < int(4*count) {
		r.tabRaw = make([]byte, 4*count)
	}
	raw := r.tabRaw[:4*count]
	if _, err := r.bf.f.ReadAt(raw, r.bf.dataLen+4*blk); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, corruptf("%s: short crc table", r.bf.path)
		}
		return 0, err
	}
	if blk == 0 && count == r.bf.blocks {
		// The whole table is in hand: check it too.
		if got := checksum.BlockCRC(raw); got != r.bf.tabCRC {
			return 0, corruptf("%s: crc table crc %08x, want %08x", r.bf.path, got, r.bf.tabCRC)
		}
	}
	r.tab = r.tab[:0]
	for i := int64(0); i < count; i++ {
		r.tab = append(r.tab, binary.LittleEndian.Uint32(raw[4*i:]))
	}
	r.tabFirst = blk
	return r.tab[0], nil
}

// Close closes the file and releases the block buffer; it is idempotent.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.counted {
		r.streams.n.Add(-1)
	}
	if r.err == nil {
		r.err = errors.New("blockfile: read on closed reader")
	}
	if r.release != nil {
		r.release(r.buf)
	}
	r.buf = nil
	return r.bf.f.Close()
}

// Size is the number of data bytes in the file.
func (bf *File) Size() int64 { return bf.dataLen }

// OpenReader checks f's trailer against size and returns a sequential,
// verifying Reader of all its data bytes. Closing the Reader closes f.
func OpenReader(f *os.File, size int64) (*Reader, error) {
	bf, err := Check(f, f.Name(), size)
	if err != nil {
		return nil, err
	}
	return bf.NewReader(0, bf.dataLen, nil, nil), nil
}

// readerAt is a verifying io.ReaderAt over a File. It caches one block and
// one window of the CRC table; a mutex makes it safe for concurrent use.
type readerAt struct {
	mu sync.Mutex
	r  *Reader
}

// OpenReaderAt checks f's trailer against size and returns an io.ReaderAt
// over its data bytes that reads and verifies whole blocks: a read that
// touches a damaged block fails with an error wrapping store.ErrCorrupt and
// returns none of that block's bytes. It does not close f. Safe for
// concurrent use.
func OpenReaderAt(f *os.File, size int64) (io.ReaderAt, error) {
	bf, err := Check(f, f.Name(), size)
	if err != nil {
		return nil, err
	}
	return &readerAt{r: bf.NewReader(0, bf.dataLen, nil, nil)}, nil
}

func (ra *readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("blockfile: negative offset")
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	r := ra.r
	n := 0
	for n < len(p) {
		if off >= r.bf.dataLen {
			return n, io.EOF
		}
		blk := off / r.bf.bs
		if blk != r.bufBlock {
			if err := r.load(blk); err != nil {
				return n, err
			}
		}
		start := blk * r.bf.bs
		c := copy(p[n:], r.buf[off-start:r.bufLen])
		n += c
		off += int64(c)
	}
	return n, nil
}

// Close closes the underlying file.
func (bf *File) Close() error { return bf.f.Close() }

// Size is the number of data bytes written so far.
func (w *Writer) Size() int64 { return w.size }
