package runs

import (
	"bytes"
	"context"
	"io"
	"mime"
	"path"

	"github.com/insitu-cloud/insitu/internal/store"
)

// sinkBuffer is how much of a stream an objectSink keeps in memory
// before it starts streaming into PutObject: a smaller output (a job
// task's, typically) is stored by one PutObject of known size when the
// run ends, with no pipe and no goroutine.
const sinkBuffer = 64 << 10

// objectSink stores a guest's stdout or stderr as a new object. The first
// sinkBuffer bytes are kept in memory; past that the stream goes through
// a pipe into a PutObject on its own goroutine (owned by the sink: finish
// and abort wait for it). Nothing is visible until finish commits it;
// abort discards it. Write is called by one goroutine at a time, finish
// or abort once after the last Write.
type objectSink struct {
	ctx  context.Context
	s    *Service
	ref  ObjectRef
	meta store.ObjectMeta
	buf  []byte
	pw   *io.PipeWriter // nil until the stream outgrows buf
	done chan error
}

func (s *Service) startSink(ctx context.Context, ref ObjectRef, m store.ObjectMeta) *objectSink {
	if m.ContentType == "" {
		m.ContentType = contentTypeFor(ref.Key)
	}
	return &objectSink{ctx: ctx, s: s, ref: ref, meta: m}
}

func (sk *objectSink) Write(p []byte) (int, error) {
	if sk.pw != nil {
		return sk.pw.Write(p)
	}
	if len(sk.buf)+len(p) <= sinkBuffer {
		sk.buf = append(sk.buf, p...)
		return len(p), nil
	}
	sk.stream()
	return sk.pw.Write(p)
}

// stream starts the PutObject that reads the rest of the output from a
// pipe, the buffered bytes first.
func (sk *objectSink) stream() {
	pr, pw := io.Pipe()
	sk.pw, sk.done = pw, make(chan error, 1)
	body := io.MultiReader(bytes.NewReader(sk.buf), pr)
	go func() {
		_, err := sk.s.engine.PutObject(sk.ctx, sk.ref.Bucket, sk.ref.Key, body, -1, store.PutOptions{Meta: sk.meta})
		pr.CloseWithError(err) // unblock the writer if the put failed early
		sk.done <- err
	}()
}

// finish stores the object and returns once it is committed.
func (sk *objectSink) finish() error {
	if sk.pw == nil {
		_, err := sk.s.engine.PutObject(sk.ctx, sk.ref.Bucket, sk.ref.Key, bytes.NewReader(sk.buf), int64(len(sk.buf)), store.PutOptions{Meta: sk.meta})
		return err
	}
	sk.pw.Close()
	return <-sk.done
}

// abort discards the output.
func (sk *objectSink) abort(err error) {
	if sk.pw == nil {
		sk.buf = nil
		return
	}
	sk.pw.CloseWithError(err)
	<-sk.done
}

// contentTypeFor guesses a stored object's type from its name.
func contentTypeFor(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "binary/octet-stream"
}
