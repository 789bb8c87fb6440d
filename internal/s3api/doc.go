// Package s3api serves the S3 protocol: request routing (path and
// virtual-host style), SigV4 and SigV2 authentication through
// internal/auth/sigv4 (Verifier.VerifyS3; a request whose signature is
// only checked at the body's EOF goes to PutObject and UploadPart alone),
// bucket ownership checks, AWS's XML bodies and error codes, conditional
// requests, ranges and checksums. It stores through the store.Engine
// interface only; storage errors become S3 error codes in exactly one place
// (toAPIError in errors.go).
//
// A Handler is safe for concurrent use.
package s3api
