package sigv4

import (
	"errors"
	"net/http"
	"strings"
)

// ErrUnknownKey is the error (possibly wrapped) a KeyStore returns when it
// has no credential for an access key. Verify turns it into
// InvalidAccessKeyId; any other KeyStore error is returned to the caller
// wrapped, as an internal failure.
var ErrUnknownKey = errors.New("sigv4: unknown access key")

// Error is an authentication failure in S3 terms: Code is the S3 error code
// (for example "SignatureDoesNotMatch"), Status the HTTP status to answer
// with.
type Error struct {
	Code    string
	Message string
	Status  int
	// anonymous marks the refusal of a request that carries no signature
	// at all (see Anonymous).
	anonymous bool
}

// Anonymous reports whether err refuses a request only because it carries
// no Authorization header, presigned query or SigV2 query: a face that
// serves anonymous callers treats such a request as the anonymous
// principal. A request with a bad signature is never Anonymous.
func Anonymous(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.anonymous
}

func (e *Error) Error() string { return "sigv4: " + e.Code + ": " + e.Message }

func newErr(status int, code, msg string) *Error {
	return &Error{Code: code, Message: msg, Status: status}
}

// S3 error codes used by this package.
const (
	codeAccessDenied         = "AccessDenied"
	codeInvalidRequest       = "InvalidRequest"
	codeInvalidArgument      = "InvalidArgument"
	codeNotImplemented       = "NotImplemented"
	codeHeaderMalformed      = "AuthorizationHeaderMalformed"
	codeQueryMalformed       = "AuthorizationQueryParametersError"
	codeInvalidAccessKeyID   = "InvalidAccessKeyId"
	codeSignatureMismatch    = "SignatureDoesNotMatch"
	codeTimeTooSkewed        = "RequestTimeTooSkewed"
	codeContentSHA256Mismtch = "XAmzContentSHA256Mismatch"
	codeIncompleteBody       = "IncompleteBody"
	codeMissingLength        = "MissingContentLength"
)

func errAnonymous() *Error {
	e := newErr(http.StatusForbidden, codeAccessDenied, "Anonymous access is forbidden for this operation")
	e.anonymous = true
	return e
}

func errUnsupportedV2() *Error {
	return newErr(http.StatusBadRequest, codeInvalidRequest,
		"The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
}

func errUnsupportedScheme() *Error {
	return newErr(http.StatusBadRequest, codeInvalidArgument, "Unsupported Authorization Type")
}

func errSigV4a() *Error {
	return newErr(http.StatusNotImplemented, codeNotImplemented,
		"AWS Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not implemented; use AWS4-HMAC-SHA256.")
}

func errTwoMechanisms() *Error {
	return newErr(http.StatusBadRequest, codeInvalidArgument,
		"Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
}

func errHeaderMalformed(detail string) *Error {
	return newErr(http.StatusBadRequest, codeHeaderMalformed, "The authorization header is malformed; "+detail)
}

func errQueryMalformed(msg string) *Error {
	return newErr(http.StatusBadRequest, codeQueryMalformed, msg)
}

func errUnknownAccessKey() *Error {
	return newErr(http.StatusForbidden, codeInvalidAccessKeyID,
		"The AWS Access Key Id you provided does not exist in our records.")
}

func errSignatureMismatch() *Error {
	return newErr(http.StatusForbidden, codeSignatureMismatch,
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
}

func errChunkSignatureMismatch() *Error {
	return newErr(http.StatusForbidden, codeSignatureMismatch,
		"The chunk signature we calculated does not match the signature you provided.")
}

func errTrailerSignatureMismatch() *Error {
	return newErr(http.StatusForbidden, codeSignatureMismatch,
		"The trailer signature we calculated does not match the signature you provided.")
}

func errSkewed() *Error {
	return newErr(http.StatusForbidden, codeTimeTooSkewed,
		"The difference between the request time and the current time is too large.")
}

func errNoDate() *Error {
	return newErr(http.StatusForbidden, codeAccessDenied,
		"AWS authentication requires a valid Date or x-amz-date header")
}

func errExpired() *Error {
	return newErr(http.StatusForbidden, codeAccessDenied, "Request has expired")
}

func errNotYetValid() *Error {
	return newErr(http.StatusForbidden, codeAccessDenied, "Request is not valid yet")
}

func errMissingContentSHA256() *Error {
	return newErr(http.StatusBadRequest, codeInvalidRequest,
		"Missing required header for this request: x-amz-content-sha256")
}

func errBadContentSHA256() *Error {
	return newErr(http.StatusBadRequest, codeInvalidArgument,
		"x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
}

func errContentSHA256Mismatch() *Error {
	return newErr(http.StatusBadRequest, codeContentSHA256Mismtch,
		"The provided 'x-amz-content-sha256' header does not match what was computed.")
}

func errMissingDecodedLength() *Error {
	return newErr(http.StatusLengthRequired, codeMissingLength,
		"You must provide the x-amz-decoded-content-length header with a streaming (aws-chunked) upload.")
}

func errBadDecodedLength() *Error {
	return newErr(http.StatusBadRequest, codeInvalidArgument,
		"x-amz-decoded-content-length must be a non-negative integer.")
}

func errIncompleteBody() *Error {
	return newErr(http.StatusBadRequest, codeIncompleteBody,
		"You did not provide the number of bytes specified by the Content-Length HTTP header.")
}

func errMalformedChunk(detail string) *Error {
	return newErr(http.StatusBadRequest, codeInvalidRequest, "Malformed aws-chunked payload: "+detail)
}

func errBodyTooLarge() *Error {
	return newErr(http.StatusBadRequest, codeInvalidRequest,
		"The request body is too large to verify without an x-amz-content-sha256 header.")
}

func errHeadersNotSigned(names []string) *Error {
	return newErr(http.StatusForbidden, codeAccessDenied,
		"There were headers present in the request which were not signed: "+strings.Join(names, ", "))
}
