package ec2api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
)

// Error is an EC2 error: Code is EC2's error code (for example
// "InvalidKeyPair.NotFound"), Status the HTTP status it is sent with.
type Error struct {
	Code    string
	Message string
	Status  int
}

func (e *Error) Error() string { return "ec2: " + e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

func badRequest(code, format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, code, format, args...)
}

func errMissing(name string) *Error {
	return badRequest("MissingParameter", "The request must contain the parameter %s", name)
}

func errInvalid(format string, args ...any) *Error {
	return badRequest("InvalidParameterValue", format, args...)
}

func errDryRun() *Error {
	return errorf(http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
}

func errUnauthorized() *Error {
	return errorf(http.StatusForbidden, "UnauthorizedOperation", "You are not authorized to perform this operation.")
}

// authCodes maps the SigV4 verifier's S3-flavoured codes to EC2's.
var authCodes = map[string]struct {
	code   string
	status int
}{
	"InvalidAccessKeyId":           {"AuthFailure", http.StatusUnauthorized},
	"AccessDenied":                 {"AuthFailure", http.StatusUnauthorized},
	"SignatureDoesNotMatch":        {"SignatureDoesNotMatch", http.StatusForbidden},
	"RequestTimeTooSkewed":         {"RequestExpired", http.StatusBadRequest},
	"AuthorizationHeaderMalformed": {"IncompleteSignature", http.StatusBadRequest},
	"XAmzContentSHA256Mismatch":    {"SignatureDoesNotMatch", http.StatusForbidden},
}

// toError maps any error to the EC2 error sent to the client. It is the
// one place where auth and storage errors become EC2 codes; anything
// unknown is an InternalError (and logged).
func toError(ctx context.Context, log *slog.Logger, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		if m, ok := authCodes[se.Code]; ok {
			return &Error{Code: m.code, Message: se.Message, Status: m.status}
		}
		return &Error{Code: "AuthFailure", Message: se.Message, Status: http.StatusUnauthorized}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errorf(http.StatusServiceUnavailable, "RequestLimitExceeded", "The request was cancelled or timed out; retry it.")
	}
	log.ErrorContext(ctx, "ec2 internal error", "err", err)
	return errorf(http.StatusInternalServerError, "InternalError", "An internal error has occurred.")
}

type errorResponse struct {
	XMLName   xml.Name   `xml:"Response"`
	Errors    []errorXML `xml:"Errors>Error"`
	RequestID string     `xml:"RequestID"`
}

type errorXML struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// writeError writes err in EC2's <Response><Errors> format.
func writeError(ctx context.Context, w http.ResponseWriter, log *slog.Logger, reqID string, err error) {
	e := toError(ctx, log, err)
	b, _ := xml.Marshal(errorResponse{Errors: []errorXML{{Code: e.Code, Message: e.Message}}, RequestID: reqID})
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.Status)
	_, _ = w.Write(append([]byte(xml.Header), b...))
}

// isCode reports whether err is an *Error with code.
func isCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
