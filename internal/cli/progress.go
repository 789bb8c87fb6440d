package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// isTerminal reports whether w is an *os.File open on a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminalFd(f.Fd())
}

// progress draws a one-line transfer progress bar on a terminal. A nil
// *progress is valid and draws nothing, so callers need not check. Counters
// are atomic: minio-go reports multipart progress from several goroutines.
type progress struct {
	w          io.Writer
	start      time.Time
	done       atomic.Int64 // bytes transferred
	total      atomic.Int64 // bytes expected (when known)
	files      atomic.Int64 // files finished
	totalFiles int64        // files expected; 0 if unknown
	unknown    atomic.Bool  // some size is unknown: no percentage
	stop       chan struct{}
	wg         sync.WaitGroup
}

// progressRefresh is how often the bar is redrawn.
const progressRefresh = 200 * time.Millisecond

// newProgress starts a bar on w if w is a terminal, else returns nil.
// totalBytes < 0 means unknown; totalFiles is 0 when unknown or for a single
// transfer.
func newProgress(w io.Writer, totalBytes, totalFiles int64) *progress {
	if !isTerminal(w) {
		return nil
	}
	p := &progress{w: w, start: time.Now(), totalFiles: totalFiles, stop: make(chan struct{})}
	p.addTotal(totalBytes)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(progressRefresh)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

// addTotal adds n expected bytes; n < 0 marks the total unknown.
func (p *progress) addTotal(n int64) {
	if p == nil {
		return
	}
	if n < 0 {
		p.unknown.Store(true)
		return
	}
	p.total.Add(n)
}

// fileDone counts one finished file.
func (p *progress) fileDone() {
	if p != nil {
		p.files.Add(1)
	}
}

// Read implements io.Reader for minio-go's PutObjectOptions.Progress: it
// counts len(b) bytes as transferred.
func (p *progress) Read(b []byte) (int, error) {
	p.done.Add(int64(len(b)))
	return len(b), nil
}

// reader returns p as a minio-go progress reader, or a nil interface.
func (p *progress) reader() io.Reader {
	if p == nil {
		return nil
	}
	return p
}

// wrap counts bytes read through r.
func (p *progress) wrap(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return &countingReader{r: r, p: p}
}

type countingReader struct {
	r io.Reader
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.done.Add(int64(n))
	return n, err
}

// finish draws the final state and ends the line.
func (p *progress) finish() {
	if p == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.draw()
	fmt.Fprintln(p.w)
}

// draw writes the current state over the current line.
func (p *progress) draw() {
	fmt.Fprint(p.w, "\r\x1b[K"+p.line(time.Since(p.start)))
}

// line renders the bar: [#####-----]  45%  12.0 MiB / 26.6 MiB  3.2 MiB/s  2/5 files
func (p *progress) line(elapsed time.Duration) string {
	done, total := p.done.Load(), p.total.Load()
	var b strings.Builder
	if !p.unknown.Load() && total > 0 {
		const width = 30
		frac := min(float64(done)/float64(total), 1)
		n := int(frac * width)
		fmt.Fprintf(&b, "[%s%s] %3.0f%%  %s / %s", strings.Repeat("#", n), strings.Repeat("-", width-n), frac*100, humanBytes(done), humanBytes(total))
	} else {
		b.WriteString(humanBytes(done))
	}
	if s := elapsed.Seconds(); s > 0 {
		fmt.Fprintf(&b, "  %s/s", humanBytes(int64(float64(done)/s)))
	}
	if p.totalFiles > 0 {
		fmt.Fprintf(&b, "  %d/%d files", p.files.Load(), p.totalFiles)
	} else if f := p.files.Load(); f > 1 {
		fmt.Fprintf(&b, "  %d files", f)
	}
	return b.String()
}

// humanBytes formats n with binary units: 512 B, 1.5 KiB, 20.0 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
