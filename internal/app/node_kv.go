package app

import (
	"github.com/insitu-cloud/insitu/internal/meta"
	"github.com/insitu-cloud/insitu/internal/s3api"
)

// cachedKV wraps the control-plane store with the cache every request's
// lookups read: access keys and accounts, and buckets' access settings
// (policy, ACL, PublicAccessBlock) and CORS rules, whose absence is
// answered from memory too, so a bucket without settings costs no store
// read.
func cachedKV(s meta.Store) *meta.Cached {
	c := meta.NewCached(s, "keys/", "accounts/", "accountids/", s3api.AccessPrefix, s3api.CORSPrefix)
	c.TrustAbsence(s3api.AccessPrefix)
	c.TrustAbsence(s3api.CORSPrefix)
	return c
}
