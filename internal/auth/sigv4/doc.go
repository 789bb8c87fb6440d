// Package sigv4 verifies AWS Signature Version 4 requests the way Amazon S3
// does: the Authorization header form, presigned (query-string) URLs, and
// the aws-chunked streaming bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
// STREAMING-UNSIGNED-PAYLOAD-TRAILER and
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER) with their trailing headers.
//
// A Verifier checks the request line and headers in Verify and hands back a
// Result whose Body verifies the payload while it is read: a hex
// x-amz-content-sha256 is compared at EOF, and every chunk signature and the
// trailer signature of a streaming body is checked before the chunk's bytes
// are returned. Failures are *Error values carrying S3's error code and HTTP
// status, so the S3 layer can answer them unchanged.
//
// Defaults: a zero MaxSkew allows 15 minutes of clock difference, a nil Now
// uses time.Now, an empty Region and nil Services accept any region and
// service named in the credential scope (the signature is computed with the
// client's own scope). A header-signed request without
// x-amz-content-sha256 (curl --aws-sigv4) is checked against the SHA-256
// of its actual body: bodies up to MaxBufferedPayload are read and checked
// in Verify; larger ones or ones of unknown length are refused by Verify
// and, by VerifyS3, checked when Body reaches EOF (Result.Deferred).
// SigV4a (ECDSA) answers NotImplemented.
//
// VerifyS3, for the S3 face only, also accepts AWS Signature Version 2 as
// S3 and MinIO accept it (Verify refuses it with InvalidRequest): the
// header form "AWS AKID:base64(HMAC-SHA1)" (15 minutes of skew allowed,
// RequestTimeTooSkewed beyond) and presigned URLs (AWSAccessKeyId,
// Expires, Signature; "Request has expired" once past Expires). Its string
// to sign holds method, Content-MD5, Content-Type, the date (or Expires),
// every x-amz-* header present, and the canonical resource (/bucket/key
// with the signed sub-resources; the bucket comes from Host when Domain is
// set). Its payload is not signed (Content-MD5, when sent, is checked by
// the store).
//
// Whatever the SigV4 form, the signature must cover host and every x-amz-* header
// present except x-amz-content-sha256 (whose value the signature covers
// anyway); otherwise Verify answers AccessDenied as S3 does, so no unsigned
// header can change what a signed request does.
//
// Costs: Verify does a constant amount of work per request (a few SHA-256
// and HMAC computations; the derived signing key is cached per secret, day,
// region and service). Signed streaming bodies hold one chunk in memory at a
// time (at most 16 MiB per chunk); everything else streams.
//
// A Verifier is safe for concurrent use once its fields are set; it must not
// be copied after first use. A Result's Body is for one reader.
// The package has no package-level mutable state.
package sigv4
