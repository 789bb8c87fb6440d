package runs

import (
	"context"
	"io"
	"mime"
	"path"

	"github.com/insitu-cloud/insitu/internal/store"
)

// objectSink streams a guest's stdout or stderr into a new object. Nothing
// is visible until finish commits it; abort discards it.
type objectSink struct {
	ref  ObjectRef
	pw   *io.PipeWriter
	done chan error
}

func (s *Service) startSink(ctx context.Context, ref ObjectRef, m store.ObjectMeta) *objectSink {
	pr, pw := io.Pipe()
	sk := &objectSink{ref: ref, pw: pw, done: make(chan error, 1)}
	if m.ContentType == "" {
		m.ContentType = contentTypeFor(ref.Key)
	}
	go func() {
		_, err := s.engine.PutObject(ctx, ref.Bucket, ref.Key, pr, -1, store.PutOptions{Meta: m})
		pr.CloseWithError(err) // unblock the writer if the put failed early
		sk.done <- err
	}()
	return sk
}

func (sk *objectSink) Write(p []byte) (int, error) { return sk.pw.Write(p) }

func (sk *objectSink) finish() error {
	sk.pw.Close()
	return <-sk.done
}

func (sk *objectSink) abort(err error) {
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
