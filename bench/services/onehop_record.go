package main

import (
	"os"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// onehopRecorder is what the onehop+rec row pays per request: a deadline
// page and a journal; in the direct row, a SIGKILL timer instead of the
// page. Its methods are no-ops on a nil recorder.
type onehopRecorder struct {
	timer   int32         // a POSIX timer signalling SIGKILL (direct row), or -1
	page    []byte        // a shared memfd page: start and deadline, ns
	start   *atomic.Int64 // &page[0]
	due     *atomic.Int64 // &page[8]
	journal *os.File      // O_APPEND
	seq     uint64
	buf     []byte
}

func newOnehopRecorder(path string, killTimer bool) (*onehopRecorder, error) {
	timer := int32(-1)
	if killTimer {
		var err error
		if timer, err = newKillTimer(); err != nil {
			return nil, err
		}
	}
	fd, err := unix.MemfdCreate("onehop-deadline", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd) // the mapping stays
	if err := unix.Ftruncate(fd, 4096); err != nil {
		return nil, err
	}
	page, err := unix.Mmap(fd, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &onehopRecorder{timer: timer, page: page, start: (*atomic.Int64)(unsafe.Pointer(&page[0])),
		due: (*atomic.Int64)(unsafe.Pointer(&page[8])), journal: f}, nil
}

// begin publishes a run's start and its deadline (10 s, the default
// service timeout).
func (r *onehopRecorder) begin(now time.Time) {
	if r == nil {
		return
	}
	if r.timer >= 0 {
		armKillTimer(r.timer, 10*time.Second)
		return
	}
	r.due.Store(now.Add(10 * time.Second).UnixNano())
	r.start.Store(now.UnixNano())
}

// end clears the page, reads the process's CPU time and appends the run's
// record to the journal with one write(2).
func (r *onehopRecorder) end(start time.Time, runErr error) error {
	if r == nil {
		return nil
	}
	if r.timer >= 0 {
		armKillTimer(r.timer, 0)
	} else {
		r.start.Store(0)
	}
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	r.seq++
	status := "ok"
	if runErr != nil {
		status = "error"
	}
	b := append(r.buf[:0], `{"id":"`...)
	b = strconv.AppendUint(b, r.seq, 10)
	b = append(b, `","kind":"service","service":"hello","app":"hello","status":"`...)
	b = append(b, status...)
	b = append(b, `","started":`...)
	b = strconv.AppendInt(b, start.UnixNano(), 10)
	b = append(b, `,"wall_ns":`...)
	b = strconv.AppendInt(b, int64(time.Since(start)), 10)
	b = append(b, `,"cpu_ns":`...)
	b = strconv.AppendInt(b, ru.Utime.Nano()+ru.Stime.Nano(), 10)
	b = append(b, "}\n"...)
	r.buf = b
	_, err := r.journal.Write(b)
	return err
}

// newKillTimer creates a POSIX timer on CLOCK_MONOTONIC whose expiry
// sends this process SIGKILL (the direct design's deadline).
func newKillTimer() (int32, error) {
	ev := struct {
		value  uintptr
		signo  int32
		notify int32 // SIGEV_SIGNAL
		_      [48]byte
	}{signo: int32(unix.SIGKILL)}
	var id int32
	_, _, e := unix.RawSyscall(unix.SYS_TIMER_CREATE, unix.CLOCK_MONOTONIC, uintptr(unsafe.Pointer(&ev)), uintptr(unsafe.Pointer(&id)))
	if e != 0 {
		return -1, e
	}
	return id, nil
}

// armKillTimer sets the timer to expire after d; 0 disarms it.
func armKillTimer(id int32, d time.Duration) {
	var its unix.ItimerSpec
	its.Value = unix.NsecToTimespec(int64(d))
	unix.RawSyscall6(unix.SYS_TIMER_SETTIME, uintptr(id), 0, uintptr(unsafe.Pointer(&its)), 0, 0, 0)
}
