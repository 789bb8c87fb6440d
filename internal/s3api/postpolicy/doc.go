// Package postpolicy parses and checks the policy document of an S3
// browser upload (POST Object): the JSON, base64-encoded in the form's
// "policy" field, that says until when the form may be used and what its
// fields may hold. It knows nothing of HTTP or signatures; s3api reads
// the form, verifies the signature over the base64 text and calls Check
// and CheckLength.
//
// A Policy is immutable once parsed and safe for concurrent use.
package postpolicy
