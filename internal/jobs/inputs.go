package jobs

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/insitu-cloud/insitu/internal/runs"
	"github.com/insitu-cloud/insitu/internal/store"
)

// MaxInputs bounds the objects one job maps over.
const MaxInputs = 1_000_000

// DefaultOutDir is the key prefix of the default output prefixes
// (<bucket>/.insitu-jobs/<id>/).
const DefaultOutDir = ".insitu-jobs/"

// expandInputs turns objects, prefixes and globs into the list of input
// objects, in the order given and key order within a prefix, without
// duplicates. A named object must exist; a prefix or glob may match none,
// but the job as a whole must have at least one input. A prefix or glob
// skips earlier jobs' default outputs (keys under DefaultOutDir) unless it
// is itself under DefaultOutDir, so running a job over a whole bucket
// twice reads the same objects.
func expandInputs(ctx context.Context, engine store.Engine, inputs []string) ([]runs.ObjectRef, error) {
	var out []runs.ObjectRef
	seen := map[runs.ObjectRef]bool{}
	add := func(r runs.ObjectRef) error {
		if seen[r] || strings.HasSuffix(r.Key, "/") {
			return nil // a duplicate, or a "directory" marker
		}
		if len(out) == MaxInputs {
			return bad("more than %d input objects", MaxInputs)
		}
		seen[r] = true
		out = append(out, r)
		return nil
	}
	for _, in := range inputs {
		ref, err := runs.ParseS3URL(in)
		if err != nil {
			return nil, err
		}
		glob := strings.IndexAny(ref.Key, "*?[")
		listed := func(key string) bool {
			return !strings.HasPrefix(key, DefaultOutDir) || strings.HasPrefix(ref.Key, DefaultOutDir)
		}
		switch {
		case glob >= 0:
			if _, err := path.Match(ref.Key, ""); err != nil {
				return nil, bad("input %q: bad pattern: %v", in, err)
			}
			err = listPrefix(ctx, engine, ref.Bucket, ref.Key[:glob], func(key string) error {
				if ok, _ := path.Match(ref.Key, key); ok && listed(key) {
					return add(runs.ObjectRef{Bucket: ref.Bucket, Key: key})
				}
				return nil
			})
		case ref.Key == "" || strings.HasSuffix(ref.Key, "/"):
			err = listPrefix(ctx, engine, ref.Bucket, ref.Key, func(key string) error {
				if !listed(key) {
					return nil
				}
				return add(runs.ObjectRef{Bucket: ref.Bucket, Key: key})
			})
		default:
			if _, err = engine.HeadObject(ctx, ref.Bucket, ref.Key); err != nil {
				err = fmt.Errorf("input %s: %w", in, err)
			} else {
				err = add(ref)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, bad("no input objects match %s", strings.Join(inputs, " "))
	}
	return out, nil
}

// listPrefix calls fn for every key under prefix, in key order, a page at
// a time.
func listPrefix(ctx context.Context, engine store.Engine, bucket, prefix string, fn func(key string) error) error {
	after := ""
	for {
		page, err := engine.ListObjects(ctx, bucket, store.ListOptions{Prefix: prefix, After: after, MaxKeys: 1000})
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Objects {
			if err := fn(o.Key); err != nil {
				return err
			}
		}
		if !page.IsTruncated {
			return nil
		}
		after = page.NextAfter
	}
}
