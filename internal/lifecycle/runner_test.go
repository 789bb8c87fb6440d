package lifecycle

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

type fixture struct {
	eng *local.Engine
	kv  meta.Store
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	eng, err := local.Open(ctx, filepath.Join(t.TempDir(), "store"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	kv, err := meta.OpenLocal(filepath.Join(t.TempDir(), "meta"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	if err := eng.CreateBucket(ctx, store.BucketInfo{Name: "b", Owner: "o"}); err != nil {
		t.Fatal(err)
	}
	return fixture{eng, kv}
}

func (f fixture) put(t *testing.T, key, body string) store.ObjectInfo {
	t.Helper()
	info, err := f.eng.PutObject(context.Background(), "b", key, strings.NewReader(body), int64(len(body)), store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func (f fixture) keys(t *testing.T) []string {
	t.Helper()
	res, err := f.eng.ListObjects(context.Background(), "b", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, o := range res.Objects {
		ks = append(ks, o.Key)
	}
	return ks
}

func (f fixture) runner(rules Rules, now time.Time, page int) *Runner {
	return New(Config{Engine: f.eng, KV: f.kv, PageSize: page, Now: func() time.Time { return now },
		Configs: func(context.Context) ([]BucketRules, error) { return []BucketRules{{Bucket: "b", Rules: rules}}, nil }})
}

// TestPassExpiresAndAborts: a pass removes what the rules say is due and
// nothing else, aborts stale uploads, and clears its progress.
func TestPassExpiresAndAborts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, k := range []string{"logs/a", "logs/b", "logs/big", "data/c"} {
		body := "x"
		if k == "logs/big" {
			body = strings.Repeat("x", 200)
		}
		f.put(t, k, body)
	}
	up, err := f.eng.CreateMultipartUpload(ctx, "b", "up/file", store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	keep, err := f.eng.CreateMultipartUpload(ctx, "b", "other/file", store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules := Rules{
		{Enabled: true, Filter: Filter{Prefix: "logs/", SizeLess: 100}, ExpireDays: 3},
		{Enabled: true, Filter: Filter{Prefix: "up/"}, AbortDays: 1},
	}
	now := time.Now()
	if st, err := f.runner(rules, now, 0).Pass(ctx); err != nil || st.Expired != 0 || st.Aborted != 0 {
		t.Fatalf("pass today: %+v %v", st, err)
	}
	st, err := f.runner(rules, now.AddDate(0, 0, 4), 0).Pass(ctx)
	if err != nil || st.Expired != 2 || st.Aborted != 1 {
		t.Fatalf("pass in 4 days: %+v %v", st, err)
	}
	if got := strings.Join(f.keys(t), ","); got != "data/c,logs/big" {
		t.Fatalf("left %s", got)
	}
	if _, err := f.eng.ListParts(ctx, "b", "up/file", up.UploadID, 0, 0); err == nil {
		t.Fatal("stale upload still there")
	}
	if _, err := f.eng.ListParts(ctx, "b", "other/file", keep.UploadID, 0, 0); err != nil {
		t.Fatalf("upload outside the rule: %v", err)
	}
	if _, err := f.kv.Get(ctx, ProgressKey); err == nil {
		t.Fatal("progress left after a complete pass")
	}
}

// TestExpireSparesANewerWrite: an object overwritten after the pass saw
// it is not removed.
func TestExpireSparesANewerWrite(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	seen := f.put(t, "k", "old")
	f.put(t, "k", "new")
	done, err := f.eng.ExpireObject(ctx, "b", "k", seen)
	if err != nil || done {
		t.Fatalf("expire of a replaced version: %v %v", done, err)
	}
	now, err := f.eng.HeadObject(ctx, "b", "k")
	if err != nil {
		t.Fatalf("the newer write is gone: %v", err)
	}
	if done, err := f.eng.ExpireObject(ctx, "b", "k", now); err != nil || !done {
		t.Fatalf("expire of the current version: %v %v", done, err)
	}
	if done, err := f.eng.ExpireObject(ctx, "b", "k", now); err != nil || done {
		t.Fatalf("expire of a key already gone: %v %v", done, err)
	}
}

// cutEngine cancels its context after limit expirations, as a node
// stopping mid-pass would, and records where each listing started.
type cutEngine struct {
	*local.Engine
	cancel  context.CancelFunc
	limit   int
	afters  []string
	expired int
}

func (c *cutEngine) ListObjects(ctx context.Context, bucket string, o store.ListOptions) (store.ListResult, error) {
	c.afters = append(c.afters, o.After)
	return c.Engine.ListObjects(ctx, bucket, o)
}

func (c *cutEngine) ExpireObject(ctx context.Context, bucket, key string, seen store.ObjectInfo) (bool, error) {
	if c.expired == c.limit {
		c.cancel()
		return false, ctx.Err()
	}
	c.expired++
	return c.Engine.ExpireObject(ctx, bucket, key, seen)
}

// TestPassResumes: a pass cut short keeps its progress, and the next one
// starts from the last page it finished instead of the bucket's start.
func TestPassResumes(t *testing.T) {
	f := newFixture(t)
	for i := range 10 {
		f.put(t, fmt.Sprintf("k%02d", i), "x")
	}
	rules := Rules{{Enabled: true, ExpireDays: 1}}
	later := time.Now().AddDate(0, 0, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cut := &cutEngine{Engine: f.eng, cancel: cancel, limit: 5}
	r := New(Config{Engine: cut, KV: f.kv, PageSize: 2, Now: func() time.Time { return later },
		Configs: func(context.Context) ([]BucketRules, error) { return []BucketRules{{Bucket: "b", Rules: rules}}, nil }})
	if _, err := r.Pass(ctx); err == nil {
		t.Fatal("the cut pass reported success")
	}
	if _, err := f.kv.Get(context.Background(), ProgressKey); err != nil {
		t.Fatalf("no progress kept: %v", err)
	}
	cut.limit, cut.afters = -1, nil
	st, err := r.Pass(context.Background())
	if err != nil || len(f.keys(t)) != 0 {
		t.Fatalf("resumed pass: %+v %v; left %v", st, err, f.keys(t))
	}
	if len(cut.afters) == 0 || cut.afters[0] != "k03" {
		t.Fatalf("resumed pass listed after %q, want after k03 (the last full page before the cut)", cut.afters)
	}
}

func (f fixture) versions(t *testing.T, key string) []store.ObjectVersion {
	t.Helper()
	res, err := f.eng.ListObjectVersions(context.Background(), "b", store.ListVersionsOptions{Prefix: key})
	if err != nil {
		t.Fatal(err)
	}
	return res.Versions
}

// TestPassVersions: in a bucket with versioning, current expiration puts
// a delete marker in front (nothing is removed), noncurrent versions go
// after their days except the newest NewerNoncurrent, and a delete marker
// left alone is removed.
func TestPassVersions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := f.eng.SetBucketVersioning(ctx, "b", store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"v1", "v2", "v3"} {
		f.put(t, "n/k", body)
	}
	f.put(t, "c/k", "current")
	rules := Rules{
		{Enabled: true, Filter: Filter{Prefix: "n/"}, NoncurrentDays: 1, NewerNoncurrent: 1},
		{Enabled: true, Filter: Filter{Prefix: "c/"}, ExpireDays: 1, ExpiredObjectDeleteMarker: false},
	}
	st, err := f.runner(rules, time.Now().AddDate(0, 0, 3), 2).Pass(ctx)
	if err != nil || st.Expired != 1 || st.Versions != 1 {
		t.Fatalf("pass: %+v %v", st, err)
	}
	n := f.versions(t, "n/")
	if len(n) != 2 || !n[0].IsLatest || n[1].IsLatest {
		t.Fatalf("n/k versions after the pass: %+v", n)
	}
	c := f.versions(t, "c/")
	if len(c) != 2 || !c[0].Info.DeleteMarker || c[1].Info.DeleteMarker {
		t.Fatalf("c/k after current expiration: %+v (want a marker in front of the version)", c)
	}
	// The marker is not expired while a version stays behind it; once the
	// version goes (noncurrent expiration), it is.
	rules = Rules{{Enabled: true, Filter: Filter{Prefix: "c/"}, NoncurrentDays: 1, ExpiredObjectDeleteMarker: true}}
	if st, err := f.runner(rules, time.Now().AddDate(0, 0, 3), 0).Pass(ctx); err != nil || st.Versions != 1 {
		t.Fatalf("second pass: %+v %v", st, err)
	}
	if st, err := f.runner(rules, time.Now().AddDate(0, 0, 3), 0).Pass(ctx); err != nil || st.Versions != 1 {
		t.Fatalf("third pass (the lone marker): %+v %v", st, err)
	}
	if c := f.versions(t, "c/"); len(c) != 0 {
		t.Fatalf("c/k left: %+v", c)
	}
}

// TestExpireVersionGuards: the engine removes a noncurrent version only
// while it is noncurrent, and a marker only while nothing is behind it.
func TestExpireVersionGuards(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := f.eng.SetBucketVersioning(ctx, "b", store.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	old := f.put(t, "k", "old")
	cur := f.put(t, "k", "new")
	if done, err := f.eng.ExpireNoncurrent(ctx, "b", "k", cur.VersionID); err != nil || done {
		t.Fatalf("expire of the latest as noncurrent: %v %v", done, err)
	}
	res, err := f.eng.DeleteObjectVersion(ctx, "b", "k", "")
	if err != nil || !res.DeleteMarker {
		t.Fatalf("delete: %+v %v", res, err)
	}
	if done, err := f.eng.ExpireDeleteMarker(ctx, "b", "k", res.VersionID); err != nil || done {
		t.Fatalf("expire of a marker with versions behind it: %v %v", done, err)
	}
	if done, err := f.eng.ExpireNoncurrent(ctx, "b", "k", old.VersionID); err != nil || !done {
		t.Fatalf("expire of a noncurrent version: %v %v", done, err)
	}
	if done, err := f.eng.ExpireNoncurrent(ctx, "b", "k", old.VersionID); err != nil || done {
		t.Fatalf("expire of a version already gone: %v %v", done, err)
	}
	if done, err := f.eng.ExpireObject(ctx, "b", "k", cur); err != nil || done {
		t.Fatalf("expire behind a marker: %v %v", done, err)
	}
	if len(f.versions(t, "k")) != 2 {
		t.Fatalf("versions: %+v", f.versions(t, "k"))
	}
}
