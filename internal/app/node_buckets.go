package app

import (
	"context"
	"errors"

	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/s3api"
)

// bucketDeleted removes everything attached to a deleted bucket, so that
// whoever creates the name next starts clean: today the open-with bindings
// (meta "openwith/BUCKET/...") and its CORS configuration; runs, jobs and services are keyed by
// account, not bucket. The S3 DeleteBucket path calls it after the engine
// deleted the bucket. A failure is logged: the deletion stands, and runs
// ignores bindings made for an earlier bucket of the same name anyway.
func (n *Node) bucketDeleted(ctx context.Context, bucket string) {
	if err := n.runs.ForgetBucket(ctx, bucket); err != nil {
		n.log.Warn("deleted bucket: open-with bindings not removed", "bucket", bucket, "err", err)
	}
	if err := n.kv.Delete(ctx, s3api.CORSKey(bucket)); err != nil && !errors.Is(err, meta.ErrNotFound) {
		n.log.Warn("deleted bucket: CORS configuration not removed", "bucket", bucket, "err", err)
	}
}
