package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
	"github.com/insitu-cloud/insitu/internal/store/local"
)

func openEngine(t *testing.T) store.Engine {
	t.Helper()
	eng, err := local.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

func mkBucket(t *testing.T, eng store.Engine, name string) {
	t.Helper()
	if err := eng.CreateBucket(context.Background(), store.BucketInfo{Name: name, Owner: "root"}); err != nil {
		t.Fatal(err)
	}
}

func keysOf(refs []runs.ObjectRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.Bucket + "/" + r.Key
	}
	return out
}

// TestExpandInputs expands objects, prefixes and globs against a real
// local store engine.
func TestExpandInputs(t *testing.T) {
	ctx := context.Background()
	eng := openEngine(t)
	mkBucket(t, eng, "b")
	mkBucket(t, eng, "c")
	for _, k := range []string{
		"logs/2025-12-31.gz", "logs/2026-01-01.gz", "logs/2026-01-02.gz", "logs/2026-01-02.txt",
		"logs/2026-x/deep.gz", "logs/dir/", "logs/sub/a", "other/a", "top",
		".insitu-jobs/j1/0/000000", // an earlier job's default output
	} {
		put(t, eng, "b", k, "x")
	}
	put(t, eng, "c", "one", "y")

	for _, c := range []struct {
		in   []string
		want []string
	}{
		{[]string{"s3://b/logs/"}, []string{"b/logs/2025-12-31.gz", "b/logs/2026-01-01.gz", "b/logs/2026-01-02.gz",
			"b/logs/2026-01-02.txt", "b/logs/2026-x/deep.gz", "b/logs/sub/a"}}, // the "dir/" marker is no input
		// path.Match: * stops at '/'.
		{[]string{"s3://b/logs/2026-*.gz"}, []string{"b/logs/2026-01-01.gz", "b/logs/2026-01-02.gz"}},
		{[]string{"s3://b/logs/2026-01-0?.*"}, []string{"b/logs/2026-01-01.gz", "b/logs/2026-01-02.gz", "b/logs/2026-01-02.txt"}},
		{[]string{"s3://b/logs/202[5]-*"}, []string{"b/logs/2025-12-31.gz"}},
		{[]string{"s3://b/*/a"}, []string{"b/other/a"}}, // logs/sub/a has one slash too many
		{[]string{"s3://b/top"}, []string{"b/top"}},
		{[]string{"s3://b"}, []string{"b/logs/2025-12-31.gz", "b/logs/2026-01-01.gz", "b/logs/2026-01-02.gz",
			"b/logs/2026-01-02.txt", "b/logs/2026-x/deep.gz", "b/logs/sub/a", "b/other/a", "b/top"}},
		// Whole bucket, with and without the slash.
		{[]string{"s3://c"}, []string{"c/one"}},
		{[]string{"s3://c/"}, []string{"c/one"}},
		// Order as given, then key order; no duplicates.
		{[]string{"s3://c/one", "s3://b/top", "s3://b/logs/2026-*.gz", "s3://b/logs/", "s3://c/"},
			[]string{"c/one", "b/top", "b/logs/2026-01-01.gz", "b/logs/2026-01-02.gz", "b/logs/2025-12-31.gz",
				"b/logs/2026-01-02.txt", "b/logs/2026-x/deep.gz", "b/logs/sub/a"}},
		// Earlier jobs' default outputs are no inputs of a whole bucket or
		// a glob, only when asked for by their prefix or name.
		{[]string{"s3://b/*/*/*/*", "s3://b/top"}, []string{"b/top"}},
		{[]string{"s3://b/.insitu-jobs/"}, []string{"b/.insitu-jobs/j1/0/000000"}},
		{[]string{"s3://b/.insitu-jobs/*/0/*"}, []string{"b/.insitu-jobs/j1/0/000000"}},
		{[]string{"s3://b/.insitu-jobs/j1/0/000000"}, []string{"b/.insitu-jobs/j1/0/000000"}},
		// A prefix that matches nothing is fine when another input matches.
		{[]string{"s3://b/nothing/", "s3://b/top"}, []string{"b/top"}},
	} {
		got, err := expandInputs(ctx, eng, c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !slices.Equal(keysOf(got), c.want) {
			t.Errorf("%q:\n got %q\nwant %q", c.in, keysOf(got), c.want)
		}
	}

	for _, c := range []struct {
		in   []string
		want error
	}{
		{[]string{"s3://b/nothing/"}, runs.ErrBadRequest},       // no input at all
		{[]string{"s3://b/nothing*"}, runs.ErrBadRequest},       // a glob with no match
		{[]string{"s3://b/logs/[2026"}, runs.ErrBadRequest},     // bad pattern
		{[]string{"s3://b/missing"}, store.ErrNoSuchKey},        // a named object must exist
		{[]string{"s3://nobucket/"}, store.ErrNoSuchBucket},     //
		{[]string{"http://b/top"}, runs.ErrBadRequest},          // not s3://
		{[]string{"s3://b/top", "s3:///x"}, runs.ErrBadRequest}, // no bucket
	} {
		if _, err := expandInputs(ctx, eng, c.in); !errors.Is(err, c.want) {
			t.Errorf("%q: error %v, want %v", c.in, err, c.want)
		}
	}
}

// TestExpandInputsPages lists a prefix of more than one listing page.
func TestExpandInputsPages(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1,050 objects")
	}
	eng := openEngine(t)
	mkBucket(t, eng, "b")
	var want []string
	for i := range 1050 {
		k := fmt.Sprintf("p/%05d", i)
		put(t, eng, "b", k, "")
		want = append(want, "b/"+k)
	}
	for _, in := range []string{"s3://b/p/", "s3://b/p/0*"} {
		got, err := expandInputs(context.Background(), eng, []string{in})
		if err != nil || !slices.Equal(keysOf(got), want) {
			t.Fatalf("%s: %d inputs (%v), want %d in key order", in, len(got), err, len(want))
		}
	}
}
