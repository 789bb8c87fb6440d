package app

import "context"

// bucketDeleted removes everything attached to a deleted bucket, so that
// whoever creates the name next starts clean: today the open-with bindings
// (meta "openwith/BUCKET/..."); runs, jobs and services are keyed by
// account, not bucket. The S3 DeleteBucket path calls it after the engine
// deleted the bucket. A failure is logged: the deletion stands, and runs
// ignores bindings made for an earlier bucket of the same name anyway.
func (n *Node) bucketDeleted(ctx context.Context, bucket string) {
	if err := n.runs.ForgetBucket(ctx, bucket); err != nil {
		n.log.Warn("deleted bucket: open-with bindings not removed", "bucket", bucket, "err", err)
	}
}
