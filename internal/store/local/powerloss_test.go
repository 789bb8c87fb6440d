package local

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/insitu-cloud/insitu/internal/store"
)

// plDir is the store's directory in the power-loss filesystems; its parent
// does not exist either, so the engine creates (and must sync) both.
const plDir = "/node/store"

// crashClock numbers the operations that change either filesystem of one
// engine: data-file operations (create, write, sync, rename, sync dir,
// remove, mkdir) and index syncs. When operation number at begins the power
// goes: from then on neither filesystem makes anything durable, so what
// survives is what was synced by operations 1..at-1.
type crashClock struct {
	mu      sync.Mutex
	at      int // 0: never
	ops     []string
	crashed bool
	data    *memFS
	index   *vfs.MemFS
}

func (c *crashClock) tick(op, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = append(c.ops, op+" "+name)
	if len(c.ops) == c.at {
		c.crashed = true
		c.data.setIgnoreSyncs(true)
		c.index.SetIgnoreSyncs(true)
	}
}

func (c *crashClock) isCrashed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashed
}

// disarm stops counting (after the crash, for the restart).
func (c *crashClock) disarm() {
	c.mu.Lock()
	c.at = -1
	c.mu.Unlock()
}

// plMachine is one machine: an engine's two filesystems and their clock.
type plMachine struct {
	clock   *crashClock
	data    *memFS
	index   *vfs.MemFS
	indexFS vfs.FS
}

func newPLMachine(at int) *plMachine {
	m := &plMachine{data: newMemFS(), index: vfs.NewStrictMem()}
	m.clock = &crashClock{at: at, data: m.data, index: m.index}
	m.data.tick = m.clock.tick
	m.indexFS = syncCountingFS{FS: m.index, tick: m.clock.tick}
	return m
}

// syncCountingFS passes every call to FS and ticks before each sync of a
// file or directory (Sync, SyncData, SyncTo): the only index operations
// that change what survives a power loss.
type syncCountingFS struct {
	vfs.FS
	tick func(op, name string)
}

func (f syncCountingFS) wrap(name string, file vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &syncCountingFile{File: file, name: name, tick: f.tick}, nil
}

func (f syncCountingFS) Create(name string) (vfs.File, error) {
	file, err := f.FS.Create(name)
	return f.wrap(name, file, err)
}

func (f syncCountingFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	file, err := f.FS.Open(name, opts...)
	return f.wrap(name, file, err)
}

func (f syncCountingFS) OpenReadWrite(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	file, err := f.FS.OpenReadWrite(name, opts...)
	return f.wrap(name, file, err)
}

func (f syncCountingFS) OpenDir(name string) (vfs.File, error) {
	file, err := f.FS.OpenDir(name)
	return f.wrap(name, file, err)
}

func (f syncCountingFS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	file, err := f.FS.ReuseForWrite(oldname, newname)
	return f.wrap(newname, file, err)
}

type syncCountingFile struct {
	vfs.File
	name string
	tick func(op, name string)
}

func (f *syncCountingFile) Sync() error {
	f.tick("index-sync", f.name)
	return f.File.Sync()
}

func (f *syncCountingFile) SyncData() error {
	f.tick("index-sync", f.name)
	return f.File.SyncData()
}

func (f *syncCountingFile) SyncTo(length int64) (bool, error) {
	f.tick("index-sync", f.name)
	return f.File.SyncTo(length)
}

func (m *plMachine) open(ctx context.Context, t *testing.T) *Engine {
	t.Helper()
	e, err := OpenWith(ctx, plDir, Options{Logger: testLogger(t), FS: m.data, IndexFS: m.indexFS})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	<-e.sweepDone // the sweep's removals are not part of the workload
	return e
}

// powerCut discards everything not synced, as a machine finds it when the
// power comes back, and lets syncs count again.
func (m *plMachine) powerCut() {
	m.clock.disarm()
	m.data.reset()
	m.index.ResetToSyncedState()
	m.data.setIgnoreSyncs(false)
	m.index.SetIgnoreSyncs(false)
}

// plEffect is what a step does once acknowledged: key holds data
// afterwards (nil: key is absent; an empty key changes no object), or part
// number part of the upload holds data, or the upload uploadID exists.
type plEffect struct {
	key      string
	data     []byte
	part     int
	uploadID string
}

type plStep struct {
	name string
	run  func(ctx context.Context, e *Engine, w *plWorld) (plEffect, error)
}

// plWorld is the workload's memory between steps.
type plWorld struct {
	uploadID string
	parts    map[int][]byte
	etags    map[int]string
}

// plData returns n deterministic random bytes derived from seed.
func plData(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

func plPut(key string, data []byte) plStep {
	return plStep{"put " + key, func(ctx context.Context, e *Engine, _ *plWorld) (plEffect, error) {
		_, err := e.PutObject(ctx, "b", key, bytes.NewReader(data), int64(len(data)), store.PutOptions{})
		return plEffect{key: key, data: data}, err
	}}
}

func plPart(num int, data []byte) plStep {
	return plStep{fmt.Sprintf("upload part %d", num), func(ctx context.Context, e *Engine, w *plWorld) (plEffect, error) {
		pi, err := e.UploadPart(ctx, "b", "mp", w.uploadID, num, bytes.NewReader(data), int64(len(data)), store.PutOptions{})
		if err == nil {
			w.parts[num], w.etags[num] = data, pi.ETag
		}
		return plEffect{part: num, data: data}, err
	}}
}

// plWorkload is every kind of write the engine does: small and multi-block
// puts, overwrites, a multipart upload with a replaced part and one left
// out of the completion (parts under store.MinPartSize keep it fast; only
// the last may be small, so the object has one part), a copy (read and put),
// a delete, and a replica put and delete (a tombstone, then overwritten).
// in holds the bodies (made once: they are costly under -race).
func plWorkload(in [][]byte) []plStep {
	return []plStep{
		{"create bucket", func(ctx context.Context, e *Engine, _ *plWorld) (plEffect, error) {
			return plEffect{}, e.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "o"})
		}},
		plPut("small", in[0]),
		plPut("big", in[1]),
		plPut("small", in[2]),
		{"create upload", func(ctx context.Context, e *Engine, w *plWorld) (plEffect, error) {
			ui, err := e.CreateMultipartUpload(ctx, "b", "mp", store.PutOptions{})
			w.uploadID = ui.UploadID
			return plEffect{uploadID: ui.UploadID}, err
		}},
		plPart(1, in[3]),
		plPart(2, in[4]),
		plPart(1, in[5]),
		{"complete upload", func(ctx context.Context, e *Engine, w *plWorld) (plEffect, error) {
			_, err := e.CompleteMultipartUpload(ctx, "b", "mp", w.uploadID, []store.CompletePart{
				{Number: 1, ETag: w.etags[1]}})
			return plEffect{key: "mp", data: w.parts[1]}, err
		}},
		{"copy big", func(ctx context.Context, e *Engine, _ *plWorld) (plEffect, error) {
			_, rc, err := e.GetObject(ctx, "b", "big", nil)
			if err != nil {
				return plEffect{}, err
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return plEffect{}, err
			}
			_, err = e.PutObject(ctx, "b", "copy", bytes.NewReader(data), int64(len(data)), store.PutOptions{})
			return plEffect{key: "copy", data: data}, err
		}},
		{"delete small", func(ctx context.Context, e *Engine, _ *plWorld) (plEffect, error) {
			return plEffect{key: "small"}, e.DeleteObject(ctx, "b", "small")
		}},
		{"put replica", func(ctx context.Context, e *Engine, _ *plWorld) (plEffect, error) {
			info := store.ObjectInfo{Bucket: "b", Key: "rep", Size: int64(len(in[4])), ETag: plETag(in[4]), Stamp: store.Stamp{HLC: 2, Node: "n"}}
			return plEffect{key: "rep", data: in[4]}, e.PutReplica(ctx, info, bytes.NewReader(in[4]))
		}},
		{"delete replica big", func(ctx context.Context, e *Engine, _ *plWorld) (plEffect, error) {
			return plEffect{key: "big"}, e.DeleteReplica(ctx, "b", "big", store.Stamp{HLC: 1, Node: "n"})
		}},
		plPut("big", in[6]),
	}
}

// plOutcome is what a run acknowledged before the power went: the objects
// (acked), whether the bucket exists, the upload and its parts, whether it
// was completed, and the step in flight at the crash, whose effect may or
// may not have landed.
type plOutcome struct {
	bucket    bool
	acked     map[string][]byte
	uploadID  string
	parts     map[int][]byte
	completed bool
	inFlight  *plEffect
	step      string
}

// ack records the effect of an acknowledged step.
func (o *plOutcome) ack(eff plEffect) {
	switch {
	case eff.uploadID != "":
		o.uploadID = eff.uploadID
	case eff.part > 0:
		o.parts[eff.part] = eff.data
	case eff.key != "":
		o.acked[eff.key] = eff.data
		o.completed = o.completed || eff.key == "mp"
	}
}

// plRun opens an engine on m, runs the workload until the power goes at
// operation m.clock.at (never if 0) and returns what was acknowledged.
func plRun(ctx context.Context, t *testing.T, m *plMachine, in [][]byte) plOutcome {
	t.Helper()
	out := plOutcome{acked: map[string][]byte{}, parts: map[int][]byte{}}
	e := m.open(ctx, t)
	defer e.Close()
	w := &plWorld{parts: map[int][]byte{}, etags: map[int]string{}}
	for i, s := range plWorkload(in) {
		if m.clock.isCrashed() {
			return out
		}
		eff, err := s.run(ctx, e, w)
		if m.clock.isCrashed() {
			out.inFlight, out.step = &eff, s.name
			if i == 0 {
				out.inFlight = nil // the bucket may or may not exist
			}
			return out
		}
		if err != nil {
			t.Fatalf("step %q before any crash: %v", s.name, err)
		}
		out.bucket = true
		out.ack(eff)
	}
	return out
}

// plKeys are the keys the workload writes.
var plKeys = []string{"big", "copy", "mp", "rep", "small"}

// plCheck reopens the engine on what survived and checks it against out:
// every acknowledged object is there and whole, the one in flight is
// either its old or its new self, nothing else is visible, after the sweep
// the data files are exactly those the index references, and an
// acknowledged upload keeps its acknowledged parts.
func plCheck(ctx context.Context, t *testing.T, m *plMachine, out plOutcome) error {
	e := m.open(ctx, t)
	defer e.Close()
	if err := plCheckObjects(ctx, e, out); err != nil {
		return err
	}
	if err := plCheckFiles(e, m); err != nil {
		return err
	}
	return plCheckUpload(ctx, e, out)
}

// plCheckObjects checks the objects against out.
func plCheckObjects(ctx context.Context, e *Engine, out plOutcome) error {
	for _, key := range plKeys {
		allowed := [][]byte{out.acked[key]}
		if out.inFlight != nil && out.inFlight.key == key {
			allowed = append(allowed, out.inFlight.data)
		}
		got, err := plRead(ctx, e, key)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if !slices.ContainsFunc(allowed, func(a []byte) bool { return bytes.Equal(a, got) }) {
			return fmt.Errorf("%s: %s; want one of %s", key, plDescribe(got), plDescribeAll(allowed))
		}
	}
	if !out.bucket {
		if _, err := e.GetBucket(ctx, "b"); err == nil && out.step != "create bucket" {
			return errors.New("bucket exists though its creation never started")
		}
		return nil
	}
	res, err := e.ListObjects(ctx, "b", store.ListOptions{})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	for _, o := range res.Objects {
		if !slices.Contains(plKeys, o.Key) {
			return fmt.Errorf("list shows %q, never written", o.Key)
		}
	}
	return nil
}

// plCheckUpload checks that an acknowledged, uncompleted upload still has
// its acknowledged parts (the one in flight old or new) and that part 1's
// bytes read back whole through a completion; a completed upload is gone.
// It completes the upload, so it runs last.
func plCheckUpload(ctx context.Context, e *Engine, out plOutcome) error {
	if out.uploadID == "" {
		return nil
	}
	lp, err := e.ListParts(ctx, "b", "mp", out.uploadID, 0, 0)
	if out.completed || (out.step == "complete upload" && errors.Is(err, store.ErrNoSuchUpload)) {
		if !errors.Is(err, store.ErrNoSuchUpload) {
			return fmt.Errorf("completed upload: ListParts = %v", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("acknowledged upload: %w", err)
	}
	got := map[int]string{}
	for _, p := range lp.Parts {
		got[p.Number] = strings.Trim(p.ETag, `"`)
	}
	for _, num := range []int{1, 2} {
		allowed := []string{plETag(out.parts[num])}
		if out.inFlight != nil && out.inFlight.part == num {
			allowed = append(allowed, plETag(out.inFlight.data))
		}
		if !slices.Contains(allowed, got[num]) {
			return fmt.Errorf("part %d: etag %q, want one of %q", num, got[num], allowed)
		}
	}
	if got[1] == "" {
		return nil
	}
	if _, err := e.CompleteMultipartUpload(ctx, "b", "mp", out.uploadID, []store.CompletePart{{Number: 1, ETag: got[1]}}); err != nil {
		return fmt.Errorf("complete after restart: %w", err)
	}
	data, err := plRead(ctx, e, "mp")
	if err != nil || plETag(data) != got[1] {
		return fmt.Errorf("part 1 after restart: %s, %v; want etag %s", plDescribe(data), err, got[1])
	}
	return nil
}

// plETag is the ETag of a part holding data; "" when there is none.
func plETag(data []byte) string {
	if data == nil {
		return ""
	}
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

// plRead returns key's bytes, nil when it is absent.
func plRead(ctx context.Context, e *Engine, key string) ([]byte, error) {
	_, rc, err := e.GetObject(ctx, "b", key, nil)
	if errors.Is(err, store.ErrNoSuchKey) || errors.Is(err, store.ErrNoSuchBucket) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func plDescribe(b []byte) string {
	if b == nil {
		return "absent"
	}
	return fmt.Sprintf("%d bytes %x...", len(b), b[:min(4, len(b))])
}

func plDescribeAll(bs [][]byte) string {
	var s []string
	for _, b := range bs {
		s = append(s, plDescribe(b))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// plCheckFiles compares the data files left after the sweep with the f/
// keys of the index, and checks tmp/ is empty.
func plCheckFiles(e *Engine, m *plMachine) error {
	var files []string
	for i := 0; i < 256; i++ {
		ents, err := m.data.ReadDir(filepath.Join(e.objDir, hex2(i)))
		if err != nil {
			return fmt.Errorf("objects/%s: %w", hex2(i), err)
		}
		for _, ent := range ents {
			files = append(files, ent.Name())
		}
	}
	slices.Sort(files)
	var refs []string
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: []byte(pfxFile), UpperBound: []byte("f0")})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		refs = append(refs, strings.TrimPrefix(string(it.Key()), pfxFile))
	}
	if err := it.Close(); err != nil {
		return err
	}
	inline, err := plInlineIDs(e)
	if err != nil {
		return err
	}
	bodies := slices.Concat(files, inline)
	slices.Sort(bodies)
	if !slices.Equal(bodies, refs) {
		return fmt.Errorf("data files %v and inline bodies %v after the sweep, index references %v", files, inline, refs)
	}
	if ents, err := m.data.ReadDir(e.tmpDir); err != nil || len(ents) != 0 {
		return fmt.Errorf("tmp/ after reopen: %d entries, %v", len(ents), err)
	}
	return nil
}

// plInlineIDs lists the ids of the bodies kept inline (n/ keys).
func plInlineIDs(e *Engine) ([]string, error) {
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: []byte(pfxInline), UpperBound: []byte(successor(pfxInline))})
	if err != nil {
		return nil, err
	}
	var ids []string
	for it.First(); it.Valid(); it.Next() {
		ids = append(ids, strings.TrimPrefix(string(it.Key()), pfxInline))
	}
	return ids, it.Close()
}

// plMaxPoints bounds the crash points one run tries; past it the points
// are every operation but writes and mkdirs (each sync, rename, remove,
// create) plus a seeded sample of those. A crash before a write leaves the
// same durable state as one before the next sync of that file, and one
// before a mkdir the same as one before its parent's sync.
const plMaxPoints = 150

// plPoints picks the crash points among operations 1..len(ops)+1 (the
// last: after the workload ends).
func plPoints(ops []string, seed uint64) []int {
	var must, rest []int
	for i, op := range ops {
		if strings.HasPrefix(op, "write ") || strings.HasPrefix(op, "mkdir ") {
			rest = append(rest, i+1)
		} else {
			must = append(must, i+1)
		}
	}
	must = append(must, len(ops)+1)
	r := rand.New(rand.NewPCG(seed, 1))
	r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	points := append(must, rest[:max(0, min(len(rest), plMaxPoints-len(must)))]...)
	slices.Sort(points)
	return points
}

// TestPowerLoss cuts the power at every point of a workload (or a seeded
// sample of the writes when there are many) and checks what a restart
// finds. The filesystems keep only what was fsynced, so removing any fsync
// the engine relies on (a data file's, its directory's after the rename,
// a new directory's parent's, or the index commit's) makes it fail.
func TestPowerLoss(t *testing.T) {
	ctx := context.Background()
	var in [][]byte
	for i, n := range []int{1000, 3*blockSize + 777, 5000, blockSize + 5, 1000, 2*blockSize + 9, 100} {
		in = append(in, plData(uint64(i+1), n))
	}
	probe := newPLMachine(0)
	plRun(ctx, t, probe, in)
	ops := probe.clock.ops
	seed := uint64(20261129)
	points := plPoints(ops, seed)
	t.Logf("%d operations, %d crash points (seed %d)", len(ops), len(points), seed)
	for _, k := range points {
		m := newPLMachine(k)
		out := plRun(ctx, t, m, in)
		m.powerCut()
		if err := plCheck(ctx, t, m, out); err != nil {
			at := "after the last operation"
			if k <= len(ops) {
				at = fmt.Sprintf("before operation %d (%s)", k, ops[k-1])
			}
			t.Fatalf("power lost %s, during step %q: %v", at, out.step, err)
		}
	}
}
