package runs_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

// objectOpens counts the lookups that open an object's body (OpenLocal,
// OpenFile and GetObject).
type objectOpens struct {
	*local.Engine
	n atomic.Int32
}

func (o *objectOpens) OpenLocal(ctx context.Context, bucket, key string) (store.ObjectInfo, *os.File, io.ReadCloser, error) {
	o.n.Add(1)
	return o.Engine.OpenLocal(ctx, bucket, key)
}

func (o *objectOpens) OpenFile(ctx context.Context, bucket, key string) (store.ObjectInfo, *os.File, error) {
	o.n.Add(1)
	return o.Engine.OpenFile(ctx, bucket, key)
}

func (o *objectOpens) GetObject(ctx context.Context, bucket, key string, rng *store.Range) (store.ObjectInfo, io.ReadCloser, error) {
	o.n.Add(1)
	return o.Engine.GetObject(ctx, bucket, key, rng)
}

// A run whose stdin and /in input name the same object (what a job task
// does) looks it up once, and the guest reads the whole object both
// ways: for an object kept inline in the index (OpenLocal serves its
// bytes: no GetObject after an OpenFile answering ErrNotLocal) and for
// one in a data file.
func TestInputNamedTwiceOpensOnce(t *testing.T) {
	counter := &objectOpens{}
	f := newFixtureWith(t, 1, 0, func(e *local.Engine) store.Engine { counter.Engine = e; return counter })
	ctx := context.Background()
	big := strings.Repeat("0123456789abcdef", 5000) // 80,000 bytes: above the inline limit
	if _, err := f.engine.PutObject(ctx, "alice-data", "big.txt", strings.NewReader(big), int64(len(big)), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key, body string
		calls     int32
	}{{"in.txt", "abc", 1}, {"big.txt", big, 1}} {
		in := runs.ObjectRef{Bucket: "alice-data", Key: c.key}
		for _, args := range [][]string{{"cat"}, {"catfile", "/in/" + c.key}} {
			counter.n.Store(0)
			var out bytes.Buffer
			rec, err := f.svc.Run(ctx, runs.Request{Account: "alice", App: "tool", Args: args,
				StdinObject: &in, Inputs: []runs.InputSpec{{Object: in}}, Stdout: &out})
			if err != nil || !rec.OK() {
				t.Fatalf("%s %v: %+v %v", c.key, args, rec, err)
			}
			if out.String() != c.body {
				t.Fatalf("%s %v: read %d bytes, want the object's %d", c.key, args, out.Len(), len(c.body))
			}
			if n := counter.n.Load(); n != c.calls {
				t.Fatalf("%s %v: %d object lookups for one object named twice, want %d", c.key, args, n, c.calls)
			}
		}
	}
}
