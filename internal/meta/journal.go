package meta

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Deferred is a Store that takes writes whose durability against a crash
// of the machine is deferred: a write survives a crash of the process as
// soon as the call returns, and a crash of the machine once the next
// group sync has run (at most DeferredSyncDelay plus one fdatasync later).
// It is for records written often and each read rarely (run records),
// where a sync per write would cost more than the write.
type Deferred interface {
	PutBatchDeferred(ctx context.Context, pairs []Pair) error
}

// DeferredSyncDelay is how long a deferred write may wait for the group
// sync that makes it durable against a crash of the machine; the writes of
// that time share one fdatasync.
const DeferredSyncDelay = 20 * time.Millisecond

// journalName is the deferred-write journal inside a Local store's
// directory (a name Pebble does not parse, so it leaves the file alone).
const journalName = "insitu-deferred.journal"

// maxJournal is the journal size past which a deferred write checkpoints:
// it syncs Pebble's own log and empties the journal.
const maxJournal = 4 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journal is an append-only file of deferred batches: every batch is one
// write(2) of [length u32][crc32c u32][pairs], so it is in the kernel (and
// survives a crash of the process) when append returns. Its entries are
// only those not yet known durable in Pebble: whenever Pebble's log is
// synced (any synced write), the journal is emptied. A syncer goroutine
// fdatasyncs it within DeferredSyncDelay of a write.
//
// append and reset are called with Local.mu held; the syncer runs on its
// own and stop waits for it.
type journal struct {
	f    *os.File
	size int64
	// sync makes the file's data durable (unix.Fdatasync; a test counts it).
	sync func(fd int) error

	wake chan struct{} // capacity 1
	quit chan struct{}
	done chan struct{}

	errMu sync.Mutex
	err   error // the last failed sync, reported by the next append
}

// openJournal opens (creating) the journal at path and returns it with the
// batches a previous process left in it, in the order they were written.
// A torn or corrupt tail (a machine crash mid-write) ends the entries.
func openJournal(path string) (*journal, [][]Pair, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("meta: open journal: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("meta: read journal: %w", err)
	}
	j := &journal{f: f, size: int64(len(data)), sync: unix.Fdatasync, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	entries, _ := decodeJournal(data)
	return j, entries, nil
}

// decodeJournal returns the whole entries of data, stopping at the first
// torn or corrupt one, and the bytes they take.
func decodeJournal(data []byte) (out [][]Pair, used int) {
	for len(data) >= 8 {
		n := binary.LittleEndian.Uint32(data)
		sum := binary.LittleEndian.Uint32(data[4:])
		if uint64(n) > uint64(len(data)-8) {
			break
		}
		body := data[8 : 8+n]
		if crc32.Checksum(body, castagnoli) != sum {
			break
		}
		pairs, ok := decodePairs(body)
		if !ok {
			break
		}
		out = append(out, pairs)
		data = data[8+n:]
		used += 8 + int(n)
	}
	return out, used
}

// encodeEntry frames pairs as one journal entry.
func encodeEntry(pairs []Pair) []byte {
	b := make([]byte, 8, 8+entrySize(pairs))
	for _, p := range pairs {
		b = binary.AppendUvarint(b, uint64(len(p.Key)))
		b = append(b, p.Key...)
		b = binary.AppendUvarint(b, uint64(len(p.Value)))
		b = append(b, p.Value...)
	}
	binary.LittleEndian.PutUint32(b, uint32(len(b)-8))
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[8:], castagnoli))
	return b
}

func entrySize(pairs []Pair) int {
	n := 0
	for _, p := range pairs {
		n += 2*binary.MaxVarintLen64 + len(p.Key) + len(p.Value)
	}
	return n
}

// decodePairs parses an entry's body; ok is false when it is malformed.
func decodePairs(b []byte) (pairs []Pair, ok bool) {
	for len(b) > 0 {
		var key, value []byte
		if key, b, ok = cutField(b); !ok {
			return nil, false
		}
		if value, b, ok = cutField(b); !ok {
			return nil, false
		}
		pairs = append(pairs, Pair{Key: string(key), Value: value})
	}
	return pairs, true
}

// cutField splits a uvarint-length-prefixed field off b.
func cutField(b []byte) (field, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	return b[k : k+int(n)], b[k+int(n):], true
}

// append writes entry in one write(2) and wakes the syncer. It reports a
// group sync that failed since the last append, so a disk that stopped
// taking syncs is not hidden.
func (j *journal) append(entry []byte) error {
	j.errMu.Lock()
	err := j.err
	j.err = nil
	j.errMu.Unlock()
	if err != nil {
		return err
	}
	n, err := j.f.Write(entry)
	j.size += int64(n)
	if err != nil {
		return fmt.Errorf("meta: journal write: %w", err)
	}
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return nil
}

// fail keeps err for the next append to report.
func (j *journal) fail(err error) {
	j.errMu.Lock()
	j.err = err
	j.errMu.Unlock()
}

// reset empties the journal; the caller has made every entry durable in
// Pebble first.
func (j *journal) reset() error {
	if j.size == 0 {
		return nil
	}
	if err := j.f.Truncate(0); err != nil {
		return fmt.Errorf("meta: journal truncate: %w", err)
	}
	j.size = 0
	return nil
}

// syncLoop fdatasyncs the journal at most every DeferredSyncDelay while
// writes arrive, until stop.
func (j *journal) syncLoop() {
	defer close(j.done)
	t := time.NewTimer(0)
	<-t.C
	for {
		select {
		case <-j.quit:
			return
		case <-j.wake:
		}
		t.Reset(DeferredSyncDelay)
		select {
		case <-j.quit:
			t.Stop()
			return
		case <-t.C:
		}
		if err := j.sync(int(j.f.Fd())); err != nil {
			j.fail(fmt.Errorf("meta: journal sync: %w", err))
		}
	}
}

// stop ends the syncer and closes the file; the caller has made every
// entry durable (and reset the journal) first.
func (j *journal) stop() error {
	close(j.quit)
	<-j.done
	return errors.Join(j.f.Sync(), j.f.Close())
}
