// Package policy is the S3 bucket policy language (Version 2012-10-17, as
// AWS documents it) and its evaluation: Parse turns a policy document into
// a Policy, and Policy.Evaluate says whether the document explicitly
// denies, allows, or says nothing about one request.
//
// A Policy is immutable once parsed and safe for concurrent use. The
// authorization decision that combines a policy with ownership, ACLs and
// PublicAccessBlock lives in package auth (auth.Authorize).
package policy
