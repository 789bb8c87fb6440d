package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/store"
)

// st is a stamp of node n at HLC h.
func st(h uint64, n string) store.Stamp { return store.Stamp{HLC: h, Node: n} }

// mustBucket creates bucket on e.
func mustBucket(t *testing.T, e *Engine, bucket string) {
	t.Helper()
	if err := e.CreateBucket(context.Background(), store.BucketInfo{Name: bucket}); err != nil {
		t.Fatal(err)
	}
}

// stampedPut puts body as bucket/key carrying s.
func stampedPut(e *Engine, bucket, key, body string, s store.Stamp) error {
	_, err := e.PutObject(context.Background(), bucket, key, strings.NewReader(body), int64(len(body)), store.PutOptions{Stamp: s})
	return err
}

// readBody returns bucket/key's bytes, or "" and the error.
func readBody(t *testing.T, e *Engine, bucket, key string) (string, error) {
	t.Helper()
	_, rc, err := e.GetObject(context.Background(), bucket, key, nil)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), nil
}

func TestStampAfter(t *testing.T) {
	cases := []struct {
		s, o store.Stamp
		want bool
	}{
		{st(2, "a"), st(1, "z"), true},
		{st(1, "z"), st(2, "a"), false},
		{st(1, "b"), st(1, "a"), true},
		{st(1, "a"), st(1, "a"), false},
		{st(1, ""), store.Stamp{}, true},
		{store.Stamp{}, store.Stamp{}, false},
		{store.Stamp{Node: "a"}, store.Stamp{}, true},
	}
	for _, c := range cases {
		if got := c.s.After(c.o); got != c.want {
			t.Errorf("%+v.After(%+v) = %v, want %v", c.s, c.o, got, c.want)
		}
	}
	if !(store.Stamp{}).IsZero() || st(0, "a").IsZero() || st(1, "").IsZero() {
		t.Error("IsZero wrong")
	}
}

func TestStampedPut(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		setup   func(e *Engine) error
		put     store.Stamp
		wantErr error
		want    string // body after the put; "" means absent
	}{
		{"over nothing", nil, st(1, "a"), nil, "new"},
		{"newer wins", func(e *Engine) error { return stampedPut(e, "b", "k", "old", st(1, "a")) }, st(2, "a"), nil, "new"},
		{"node breaks tie", func(e *Engine) error { return stampedPut(e, "b", "k", "old", st(2, "a")) }, st(2, "b"), nil, "new"},
		{"older refused", func(e *Engine) error { return stampedPut(e, "b", "k", "old", st(2, "a")) }, st(1, "z"), store.ErrSuperseded, "old"},
		{"equal refused", func(e *Engine) error { return stampedPut(e, "b", "k", "old", st(2, "a")) }, st(2, "a"), store.ErrSuperseded, "old"},
		{"over unstamped", func(e *Engine) error { return stampedPut(e, "b", "k", "old", store.Stamp{}) }, st(1, "a"), nil, "new"},
		{"zero overwrites stamped", func(e *Engine) error { return stampedPut(e, "b", "k", "old", st(9, "a")) }, store.Stamp{}, nil, "new"},
		{"tombstone blocks older", func(e *Engine) error { return e.DeleteReplica(ctx, "b", "k", st(5, "a")) }, st(4, "z"), store.ErrSuperseded, ""},
		{"tombstone blocks equal", func(e *Engine) error { return e.DeleteReplica(ctx, "b", "k", st(5, "a")) }, st(5, "a"), store.ErrSuperseded, ""},
		{"newer over tombstone", func(e *Engine) error { return e.DeleteReplica(ctx, "b", "k", st(5, "a")) }, st(6, "a"), nil, "new"},
		{"zero over tombstone", func(e *Engine) error { return e.DeleteReplica(ctx, "b", "k", st(5, "a")) }, store.Stamp{}, nil, "new"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			e := openTest(t, dir)
			mustBucket(t, e, "b")
			if c.setup != nil {
				if err := c.setup(e); err != nil {
					t.Fatal(err)
				}
			}
			files := bodies(t, e, dir)
			err := stampedPut(e, "b", "k", "new", c.put)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("put: %v, want %v", err, c.wantErr)
			}
			got, gerr := readBody(t, e, "b", "k")
			if c.want == "" && !errors.Is(gerr, store.ErrNoSuchKey) || c.want != "" && got != c.want {
				t.Fatalf("after put: %q, %v; want %q", got, gerr, c.want)
			}
			if c.wantErr != nil && bodies(t, e, dir) != files {
				t.Fatalf("a refused put left a data file")
			}
			if oi, err := e.HeadObject(ctx, "b", "k"); err == nil && oi.Stamp != c.put && c.wantErr == nil {
				t.Fatalf("stamp %+v, want %+v", oi.Stamp, c.put)
			}
		})
	}
}

// op is one write of the convergence property test.
type op struct {
	stamp store.Stamp
	del   bool
	body  string
}

func (o op) apply(e *Engine, key string) error {
	if o.del {
		return e.DeleteReplica(context.Background(), "b", key, o.stamp)
	}
	if rand.IntN(2) == 0 {
		return stampedPut(e, "b", key, o.body, o.stamp)
	}
	info := store.ObjectInfo{Bucket: "b", Key: key, Size: int64(len(o.body)), LastModified: time.Now().UTC(), Stamp: o.stamp}
	return e.PutReplica(context.Background(), info, strings.NewReader(o.body))
}

// TestStampsConverge: N stamped puts and deletes of one key applied in
// random orders (and concurrently) end with the newest stamp's outcome,
// and no data file but the winner's is left.
func TestStampsConverge(t *testing.T) {
	for trial := range 20 {
		n := 2 + rand.IntN(10)
		ops := make([]op, n)
		for i := range ops {
			// Few HLC values and nodes, so ties on HLC happen.
			ops[i] = op{stamp: st(uint64(1+rand.IntN(4)), fmt.Sprintf("n%d", i)), del: rand.IntN(3) == 0, body: fmt.Sprintf("body-%d", i)}
		}
		best := ops[0]
		for _, o := range ops[1:] {
			if o.stamp.After(best.stamp) {
				best = o
			}
		}
		dir := t.TempDir()
		e := openTest(t, dir)
		mustBucket(t, e, "b")
		const orders = 3 // two sequential permutations, one concurrent
		for order := range orders {
			key := fmt.Sprintf("k%d", order)
			perm := rand.Perm(n)
			if order == orders-1 {
				applyConcurrently(t, e, key, ops)
			} else {
				for _, i := range perm {
					if err := ops[i].apply(e, key); err != nil && !errors.Is(err, store.ErrSuperseded) {
						t.Fatal(err)
					}
				}
			}
			checkOutcome(t, e, key, best, fmt.Sprintf("trial %d order %d perm %v", trial, order, perm))
		}
		if want, got := orders*(1-boolInt(best.del)), bodies(t, e, dir); got != want {
			t.Fatalf("trial %d: %d data files, want %d", trial, got, want)
		}
		e.Close()
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func applyConcurrently(t *testing.T, e *Engine, key string, ops []op) {
	errs := make(chan error, len(ops))
	for _, o := range ops {
		go func() { errs <- o.apply(e, key) }()
	}
	for range ops {
		if err := <-errs; err != nil && !errors.Is(err, store.ErrSuperseded) {
			t.Fatal(err)
		}
	}
}

func checkOutcome(t *testing.T, e *Engine, key string, best op, what string) {
	t.Helper()
	held, err := e.Lookup(context.Background(), "b", key)
	if err != nil {
		t.Fatalf("%s: Lookup: %v", what, err)
	}
	if held.Stamp != best.stamp || held.Deleted != best.del {
		t.Fatalf("%s: holds %+v deleted=%v, want %+v deleted=%v", what, held.Stamp, held.Deleted, best.stamp, best.del)
	}
	got, err := readBody(t, e, "b", key)
	if best.del && !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("%s: deleted key reads %q, %v", what, got, err)
	}
	if !best.del && got != best.body {
		t.Fatalf("%s: body %q, want %q", what, got, best.body)
	}
}

// putMultipart completes a two-part upload of bucket/key with a SHA256
// checksum and user metadata, returning its body.
func putMultipart(t *testing.T, e *Engine, bucket, key string) []byte {
	t.Helper()
	ctx := context.Background()
	meta := store.ObjectMeta{ContentType: "text/plain", User: map[string]string{"color": "blue"}}
	up, err := e.CreateMultipartUpload(ctx, bucket, key, store.PutOptions{Meta: meta, ChecksumAlgorithm: "SHA256"})
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	var parts []store.CompletePart
	for n, size := range []int{store.MinPartSize, 1000} {
		p := bytes.Repeat([]byte{byte('a' + n)}, size)
		pi, err := e.UploadPart(ctx, bucket, key, up.UploadID, n+1, bytes.NewReader(p), int64(size), store.PutOptions{ChecksumAlgorithm: "SHA256"})
		if err != nil {
			t.Fatal(err)
		}
		body = append(body, p...)
		parts = append(parts, store.CompletePart{Number: n + 1, ETag: pi.ETag})
	}
	if _, err := e.CompleteMultipartUploadAt(ctx, bucket, key, up.UploadID, parts, st(7, "a")); err != nil {
		t.Fatal(err)
	}
	return body
}

// TestPutReplicaRoundTrip copies a multipart object with Lookup+GetObject
// into a second engine with PutReplica: every field and byte is the same.
func TestPutReplicaRoundTrip(t *testing.T) {
	ctx := context.Background()
	src, dst := openTest(t, t.TempDir()), openTest(t, t.TempDir())
	mustBucket(t, src, "b")
	body := putMultipart(t, src, "b", "big")
	if err := stampedPut(src, "b", "small", "hello", st(3, "a")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the copies must keep the source's times
	for _, key := range []string{"big", "small"} {
		info, err := src.Lookup(ctx, "b", key)
		if err != nil {
			t.Fatal(err)
		}
		_, rc, err := src.GetObject(ctx, "b", key, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = dst.PutReplica(ctx, info, rc) // creates bucket b on dst
		rc.Close()
		if err != nil {
			t.Fatalf("PutReplica %s: %v", key, err)
		}
		got, err := dst.Lookup(ctx, "b", key)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, info) {
			t.Fatalf("%s: replica info\n%+v\nwant\n%+v", key, got, info)
		}
		head, err := dst.HeadObject(ctx, "b", key)
		if err != nil || !reflect.DeepEqual(head, info) {
			t.Fatalf("%s: HeadObject %+v, %v", key, head, err)
		}
	}
	if got, _ := readBody(t, dst, "b", "big"); got != string(body) {
		t.Fatal("replica bytes differ")
	}
	if info := mustLookup(t, dst, "b", "big"); len(info.Parts) != 2 || info.Checksum.Type != "COMPOSITE" || !strings.HasSuffix(info.ETag, "-2") {
		t.Fatalf("multipart info lost: %+v", info)
	}
	if _, err := dst.GetBucket(ctx, "b"); err != nil {
		t.Fatalf("bucket not created: %v", err)
	}
}

func mustLookup(t *testing.T, e *Engine, bucket, key string) store.ObjectInfo {
	t.Helper()
	oi, err := e.Lookup(context.Background(), bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	return oi
}

// TestPutReplicaRefuses: bodies of the wrong length or digest, and stale
// stamps, change nothing and leave no data file.
func TestPutReplicaRefuses(t *testing.T) {
	ctx := context.Background()
	const md5Hello = "5d41402abc4b2a76b9719d911017c592"
	base := store.ObjectInfo{Bucket: "b", Key: "k", Size: 5, ETag: md5Hello, Stamp: st(5, "a")}
	cases := []struct {
		name string
		info func(store.ObjectInfo) store.ObjectInfo
		body string
		want error
	}{
		{"short", nil, "hell", store.ErrIncompleteBody},
		{"long", nil, "hello!", store.ErrIncompleteBody},
		{"md5", nil, "jello", store.ErrBadDigest},
		{"checksum", func(i store.ObjectInfo) store.ObjectInfo {
			i.Checksum = store.Checksum{Algorithm: "CRC32", Value: "AAAAAA==", Type: "FULL_OBJECT"}
			return i
		}, "hello", store.ErrBadDigest},
		{"older", func(i store.ObjectInfo) store.ObjectInfo { i.Stamp = st(4, "z"); return i }, "hello", store.ErrSuperseded},
		{"equal", func(i store.ObjectInfo) store.ObjectInfo { i.Stamp = st(5, "a"); i.Meta.ContentType = "x"; return i }, "hello", store.ErrSuperseded},
		{"unstamped over held", func(i store.ObjectInfo) store.ObjectInfo { i.Stamp = store.Stamp{}; return i }, "hello", store.ErrSuperseded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			e := openTest(t, dir)
			if err := e.PutReplica(ctx, base, strings.NewReader("hello")); err != nil {
				t.Fatal(err)
			}
			before := mustLookup(t, e, "b", "k")
			info := base
			info.Stamp = st(6, "a") // newer: the body is what is wrong
			if c.info != nil {
				info = c.info(info)
			}
			if err := e.PutReplica(ctx, info, strings.NewReader(c.body)); !errors.Is(err, c.want) {
				t.Fatalf("PutReplica: %v, want %v", err, c.want)
			}
			if after := mustLookup(t, e, "b", "k"); !reflect.DeepEqual(after, before) {
				t.Fatalf("changed: %+v", after)
			}
			if n := bodies(t, e, dir); n != 1 {
				t.Fatalf("%d data files, want 1", n)
			}
		})
	}
	t.Run("unstamped over nothing", func(t *testing.T) {
		e := openTest(t, t.TempDir())
		info := base
		info.Stamp = store.Stamp{}
		if err := e.PutReplica(ctx, info, strings.NewReader("hello")); err != nil {
			t.Fatal(err)
		}
	})
}

// held names an entry Walk returns: bucket/key, and "!" for a tombstone.
func held(oi store.ObjectInfo) string {
	s := oi.Bucket + "/" + oi.Key
	if oi.Deleted {
		s += "!"
	}
	return s
}

// fillReplicas makes buckets a, ab and b with objects and tombstones.
func fillReplicas(t *testing.T, e *Engine) []string {
	t.Helper()
	ctx := context.Background()
	var want []string
	for _, bucket := range []string{"a", "ab", "b"} { // "a" sorts before "ab": bucket order, not key bytes
		for i := range 5 {
			key := fmt.Sprintf("k%d", i)
			if i%2 == 1 {
				if err := e.DeleteReplica(ctx, bucket, key, st(1, "n")); err != nil {
					t.Fatal(err)
				}
				want = append(want, bucket+"/"+key+"!")
				continue
			}
			if err := stampedPutAny(e, bucket, key); err != nil {
				t.Fatal(err)
			}
			want = append(want, bucket+"/"+key)
		}
	}
	return want
}

func stampedPutAny(e *Engine, bucket, key string) error {
	info := store.ObjectInfo{Bucket: bucket, Key: key, Size: 1, Stamp: st(1, "n")}
	return e.PutReplica(context.Background(), info, strings.NewReader("x"))
}

func TestWalk(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	want := fillReplicas(t, e)
	walk := func(ab, ak string, stopAfter int) ([]string, error) {
		var got []string
		err := e.Walk(ctx, ab, ak, func(oi store.ObjectInfo) error {
			// fn may call the engine: Walk holds no lock meanwhile.
			if _, err := e.Lookup(ctx, oi.Bucket, oi.Key); err != nil {
				return err
			}
			got = append(got, held(oi))
			if len(got) == stopAfter {
				return io.EOF
			}
			return nil
		})
		return got, err
	}
	got, err := walk("", "", -1)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Walk: %v, %v\nwant %v", got, err, want)
	}
	// Resume strictly after every entry, and after a bucket with no key.
	for i := range want {
		b, k, _ := strings.Cut(strings.TrimSuffix(want[i], "!"), "/")
		got, err := walk(b, k, -1)
		if err != nil || !slices.Equal(got, want[i+1:]) {
			t.Fatalf("Walk after %s/%s: %v, %v", b, k, got, err)
		}
	}
	if got, _ := walk("ab", "", -1); !reflect.DeepEqual(got, want[5:]) {
		t.Fatalf("Walk after bucket ab: %v", got)
	}
	if got, err := walk("", "", 3); !errors.Is(err, io.EOF) || len(got) != 3 {
		t.Fatalf("fn error: %v, %v", got, err)
	}
}

func TestWalkPages(t *testing.T) {
	e := openTest(t, t.TempDir())
	n := walkBatch*2 + 7
	for i := range n {
		if err := stampedPutAny(e, "b", fmt.Sprintf("%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	err := e.Walk(context.Background(), "", "", func(oi store.ObjectInfo) error {
		if oi.Key != fmt.Sprintf("%04d", i) {
			return fmt.Errorf("entry %d is %s", i, oi.Key)
		}
		// Dropping while walking does not disturb the walk.
		i++
		return e.Drop(context.Background(), oi.Bucket, oi.Key, oi.Stamp)
	})
	if err != nil || i != n {
		t.Fatalf("walked %d of %d: %v", i, n, err)
	}
}

func TestDrop(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openTest(t, dir)
	fillReplicas(t, e)
	cases := []struct {
		key   string
		stamp store.Stamp
		gone  bool
	}{
		{"k0", st(2, "n"), false}, // wrong stamp: object kept
		{"k1", st(1, "m"), false}, // wrong stamp: tombstone kept
		{"k9", st(1, "n"), true},  // nothing held: no error
		{"k0", st(1, "n"), true},
		{"k1", st(1, "n"), true},
	}
	for _, c := range cases {
		if err := e.Drop(ctx, "a", c.key, c.stamp); err != nil {
			t.Fatalf("Drop %s: %v", c.key, err)
		}
		_, err := e.Lookup(ctx, "a", c.key)
		if gone := errors.Is(err, store.ErrNoSuchKey); gone != c.gone {
			t.Fatalf("Drop %s %+v: gone=%v, want %v", c.key, c.stamp, gone, c.gone)
		}
	}
	if n := bodies(t, e, dir); n != 8 { // 9 objects put, one dropped
		t.Fatalf("%d data files, want 8", n)
	}
}

func TestDropBucket(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openTest(t, dir)
	fillReplicas(t, e)
	if _, err := e.CreateMultipartUpload(ctx, "ab", "up", store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"ab", "ab", "nope"} { // twice: a missing bucket is fine
		if err := e.DropBucket(ctx, b); err != nil {
			t.Fatalf("DropBucket %s: %v", b, err)
		}
	}
	var got []string
	e.Walk(ctx, "", "", func(oi store.ObjectInfo) error { got = append(got, oi.Bucket); return nil })
	if strings.Contains(strings.Join(got, ","), "ab") || len(got) != 10 {
		t.Fatalf("after DropBucket ab: %v", got)
	}
	if _, err := e.GetBucket(ctx, "ab"); !errors.Is(err, store.ErrNoSuchBucket) {
		t.Fatalf("GetBucket: %v", err)
	}
	if n := bodies(t, e, dir); n != 6 {
		t.Fatalf("%d data files, want 6", n)
	}
	// The name is free again, with nothing of the old bucket in it.
	mustBucket(t, e, "ab")
	if res, err := e.ListObjects(ctx, "ab", store.ListOptions{Tombstones: true}); err != nil || len(res.Objects) != 0 {
		t.Fatalf("recreated bucket lists %v, %v", res.Objects, err)
	}
}

// listed renders a listing page: keys ("!" for tombstones) then prefixes.
func listed(res store.ListResult) string {
	var s []string
	for _, oi := range res.Objects {
		k := oi.Key
		if oi.Deleted {
			k += "!"
		}
		s = append(s, k)
	}
	return strings.Join(s, ",") + "|" + strings.Join(res.CommonPrefixes, ",")
}

func TestListTombstones(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	mustBucket(t, e, "b")
	for _, k := range []string{"a", "d/1", "m/1", "m/2", "z"} {
		if err := stampedPut(e, "b", k, "x", st(1, "n")); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"c", "d/0", "m/1", "m/2", "t/1"} {
		if err := e.DeleteReplica(ctx, "b", k, st(2, "n")); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		opts store.ListOptions
		want string
	}{
		{store.ListOptions{}, "a,d/1,z|"},
		{store.ListOptions{Tombstones: true}, "a,c!,d/0!,d/1,m/1!,m/2!,t/1!,z|"},
		{store.ListOptions{Delimiter: "/"}, "a,z|d/"}, // m/ and t/ hold only tombstones
		{store.ListOptions{Delimiter: "/", Tombstones: true}, "a,c!,z|d/,m/,t/"},
		{store.ListOptions{Prefix: "m/"}, "|"},
		{store.ListOptions{MaxKeys: 2, Tombstones: true}, "a,c!|"},
		{store.ListOptions{MaxKeys: 2, After: "c"}, "d/1,z|"},
		{store.ListOptions{MaxKeys: 3, Delimiter: "/", Tombstones: true, After: "c"}, "|d/,m/,t/"},
	}
	for _, c := range cases {
		res, err := e.ListObjects(ctx, "b", c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := listed(res); got != c.want {
			t.Errorf("ListObjects(%+v) = %s, want %s", c.opts, got, c.want)
		}
	}
	res, _ := e.ListObjects(ctx, "b", store.ListOptions{Tombstones: true, Prefix: "c"})
	if oi := res.Objects[0]; !oi.Deleted || oi.Stamp != st(2, "n") || oi.Bucket != "b" || oi.Size != 0 {
		t.Fatalf("tombstone listed as %+v", oi)
	}
}

// TestTombstoneInvisible: a key with a tombstone is absent to every plain
// read path, and a plain DeleteObject neither leaves nor removes one.
func TestTombstoneInvisible(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openTest(t, dir)
	mustBucket(t, e, "b")
	if err := stampedPut(e, "b", "k", "x", st(1, "n")); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteReplica(ctx, "b", "k", st(2, "n")); err != nil {
		t.Fatal(err)
	}
	if n := bodies(t, e, dir); n != 0 {
		t.Fatalf("DeleteReplica left %d data files", n)
	}
	if _, err := e.HeadObject(ctx, "b", "k"); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("HeadObject: %v", err)
	}
	if _, _, err := e.GetObject(ctx, "b", "k", nil); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("GetObject: %v", err)
	}
	if _, f, err := e.OpenFile(ctx, "b", "k"); !errors.Is(err, store.ErrNoSuchKey) {
		if f != nil {
			f.Close()
		}
		t.Errorf("OpenFile: %v", err)
	}
	if _, err := e.PutObject(ctx, "b", "k2", strings.NewReader("y"), 1, store.PutOptions{IfNoneMatchStar: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteReplica(ctx, "b", "k2", st(3, "n")); err != nil {
		t.Fatal(err)
	}
	// If-None-Match: * sees a tombstone as absent.
	if _, err := e.PutObject(ctx, "b", "k2", strings.NewReader("z"), 1, store.PutOptions{IfNoneMatchStar: true}); err != nil {
		t.Fatalf("If-None-Match over a tombstone: %v", err)
	}
	// A plain delete of a tombstoned key is a no-op; of an object, leaves nothing.
	if err := e.DeleteObject(ctx, "b", "k"); err != nil {
		t.Fatal(err)
	}
	if oi := mustLookup(t, e, "b", "k"); !oi.Deleted || oi.Stamp != st(2, "n") {
		t.Fatalf("plain delete changed the tombstone: %+v", oi)
	}
	if err := e.DeleteObject(ctx, "b", "k2"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Lookup(ctx, "b", "k2"); !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("plain DeleteObject left %v", err)
	}
	if _, err := e.Lookup(ctx, "nobucket", "k"); !errors.Is(err, store.ErrNoSuchKey) {
		t.Fatalf("Lookup in a missing bucket: %v", err)
	}
}

func TestDeleteBucketTombstones(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	// DeleteReplica creates the bucket.
	for _, k := range []string{"a", "b"} {
		if err := e.DeleteReplica(ctx, "b", k, st(1, "n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := stampedPut(e, "b", "c", "x", st(1, "n")); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteBucket(ctx, "b"); !errors.Is(err, store.ErrBucketNotEmpty) {
		t.Fatalf("DeleteBucket with an object: %v", err)
	}
	if err := e.DeleteObject(ctx, "b", "c"); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteBucket(ctx, "b"); err != nil {
		t.Fatalf("DeleteBucket with only tombstones: %v", err)
	}
	n := 0
	e.Walk(ctx, "", "", func(store.ObjectInfo) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d tombstones outlived their bucket", n)
	}
}

// TestCompleteAtSuperseded: a multipart completion older than what is held
// is refused, and its upload and part files are gone all the same.
func TestCompleteAtSuperseded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := openTest(t, dir)
	mustBucket(t, e, "b")
	if err := e.DeleteReplica(ctx, "b", "k", st(9, "a")); err != nil {
		t.Fatal(err)
	}
	up, err := e.CreateMultipartUpload(ctx, "b", "k", store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pi, err := e.UploadPart(ctx, "b", "k", up.UploadID, 1, strings.NewReader("part"), 4, store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parts := []store.CompletePart{{Number: 1, ETag: pi.ETag}}
	if _, err := e.CompleteMultipartUploadAt(ctx, "b", "k", up.UploadID, parts, st(8, "z")); !errors.Is(err, store.ErrSuperseded) {
		t.Fatalf("CompleteMultipartUploadAt: %v", err)
	}
	if oi := mustLookup(t, e, "b", "k"); !oi.Deleted {
		t.Fatalf("held %+v", oi)
	}
	if _, err := e.ListParts(ctx, "b", "k", up.UploadID, 0, 0); !errors.Is(err, store.ErrNoSuchUpload) {
		t.Fatalf("upload not consumed: %v", err)
	}
	if n := bodies(t, e, dir); n != 0 {
		t.Fatalf("%d data files left", n)
	}
}

// failReader fails the test's body read: nothing should read it.
type failReader struct{ read *bool }

func (f failReader) Read([]byte) (int, error) { *f.read = true; return 0, errors.New("body read") }

// TestPutReplicaStaleNotRead: a replica older than what is held is refused
// before its body is read.
func TestPutReplicaStaleNotRead(t *testing.T) {
	ctx := context.Background()
	e := openTest(t, t.TempDir())
	if err := e.DeleteReplica(ctx, "b", "k", st(5, "a")); err != nil {
		t.Fatal(err)
	}
	read := false
	info := store.ObjectInfo{Bucket: "b", Key: "k", Size: 3, Stamp: st(4, "a")}
	if err := e.PutReplica(ctx, info, failReader{&read}); !errors.Is(err, store.ErrSuperseded) || read {
		t.Fatalf("PutReplica: %v, body read %v", err, read)
	}
}
