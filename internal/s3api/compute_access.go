package s3api

import (
	"context"

	"github.com/insitu-cloud/insitu/internal/auth"
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/store"
)

// ReadAuthorizer answers, for compute on the data, whether an account may
// read an object the way S3 would let it GET the object: the same
// decision (bucket policy, bucket and object ACLs, PublicAccessBlock) as
// a signed GetObject by that account over plain HTTP, without the
// request's connection: aws:SecureTransport is false (a Deny of insecure
// transport applies), and aws:SourceIp, aws:UserAgent and aws:Referer
// have no value (an Allow that needs one does not apply). Safe for
// concurrent use.
type ReadAuthorizer struct {
	engine store.Engine
	access accessStore
}

// NewReadAuthorizer reads buckets through engine and their access
// settings from kv (nil: every bucket private), as a Handler on the same
// engine and kv does.
func NewReadAuthorizer(engine store.Engine, kv meta.Store) *ReadAuthorizer {
	return &ReadAuthorizer{engine: engine, access: accessStore{kv}}
}

// AuthorizeRead returns nil when the account with id accountID may read
// bucket/key, an error wrapping auth.ErrAccessDenied when it may not, and
// the engine's error (store.ErrNoSuchBucket, ...) when the bucket cannot
// be read.
func (a *ReadAuthorizer) AuthorizeRead(ctx context.Context, accountID, bucket, key string) error {
	ba, err := loadBucketAccess(ctx, a.engine, a.access, bucket)
	if err != nil {
		return err
	}
	ar := auth.Request{Principal: accountID, Action: "s3:GetObject", Bucket: bucket, Key: key,
		Context: map[string][]string{"aws:principaltype": {"Account"}, "aws:principalaccount": {accountID},
			"aws:securetransport": {"false"}}}
	return decide(ba, ar, func() (store.ObjectInfo, error) { return a.engine.HeadObject(ctx, bucket, key) })
}
