package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"syscall"

	"github.com/insitu-cloud/insitu/internal/auth/sigv4"
	"github.com/insitu-cloud/insitu/internal/checksum"
	"github.com/insitu-cloud/insitu/internal/obs"
	"github.com/insitu-cloud/insitu/internal/store"
)

// APIError is an S3 error response.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func apiErr(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common errors.
var (
	errAccessDenied       = &APIError{http.StatusForbidden, "AccessDenied", "Access Denied"}
	errNoSuchBucket       = &APIError{http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist"}
	errNoSuchKey          = &APIError{http.StatusNotFound, "NoSuchKey", "The specified key does not exist."}
	errNoSuchUpload       = &APIError{http.StatusNotFound, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."}
	errInvalidBucketName  = &APIError{http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid."}
	errMalformedXML       = &APIError{http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema."}
	errPreconditionFailed = &APIError{http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"}
	errNotImplemented     = &APIError{http.StatusNotImplemented, "NotImplemented", "A header or query you provided implies functionality that is not implemented."}
	errMissingLength      = &APIError{http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header."}
	errEntityTooLarge     = &APIError{http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size."}
	errKeyNotUTF8         = &APIError{http.StatusBadRequest, "InvalidArgument", "Object key must be well-formed UTF-8."}
	errStorageFull        = &APIError{http.StatusInsufficientStorage, "InsufficientStorage", "The node has no space left to store this object; delete objects or add capacity (not retryable)."}
	errKeyTooLong         = &APIError{http.StatusBadRequest, "KeyTooLongError", "Your key is too long"}
	errInvalidDigest      = &APIError{http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified is not valid."}
	errRequestTimeout     = &APIError{http.StatusBadRequest, "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."}
	errMethodNotAllowed   = &APIError{http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource."}
)

// toAPIError maps any error to the S3 error sent to the client. It is the one
// place where storage and auth errors become S3 codes.
func toAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		return &APIError{Status: se.Status, Code: se.Code, Message: se.Message}
	}
	switch {
	case errors.Is(err, store.ErrNoSuchBucket):
		return errNoSuchBucket
	case errors.Is(err, store.ErrBucketExists):
		return apiErr(http.StatusConflict, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
	case errors.Is(err, store.ErrBucketOwnedByYou):
		return apiErr(http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	case errors.Is(err, store.ErrBucketNotEmpty):
		return apiErr(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty")
	case errors.Is(err, store.ErrNoSuchKey):
		return errNoSuchKey
	case errors.Is(err, store.ErrNoSuchVersion):
		return apiErr(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
	case errors.Is(err, store.ErrInvalidVersionID):
		return errInvalidVersionID
	case errors.Is(err, store.ErrVersionIsDeleteMarker):
		return errMethodNotAllowed
	case errors.Is(err, store.ErrInvalidVersioningState):
		return errIllegalVersioning
	case errors.Is(err, store.ErrObjectLocked):
		return errObjectLocked
	case errors.Is(err, store.ErrObjectLockNotEnabled):
		return errLockNotEnabled
	case errors.Is(err, store.ErrNoObjectLockConfig):
		return errNoLockConfig
	case errors.Is(err, store.ErrInvalidBucketState):
		return errLockedVersioning
	case errors.Is(err, store.ErrNoSuchUpload):
		return errNoSuchUpload
	case errors.Is(err, store.ErrInvalidPart):
		return apiErr(http.StatusBadRequest, "InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
	case errors.Is(err, store.ErrInvalidPartOrder):
		return apiErr(http.StatusBadRequest, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
	case errors.Is(err, store.ErrEntityTooSmall):
		return apiErr(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
	case errors.Is(err, store.ErrBadDigest):
		return apiErr(http.StatusBadRequest, "BadDigest", "The Content-MD5 or checksum you specified did not match what was received.")
	case errors.Is(err, store.ErrIncompleteBody):
		return apiErr(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	case errors.Is(err, store.ErrInvalidRange):
		return apiErr(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable")
	case errors.Is(err, store.ErrInvalidPartNumber):
		return apiErr(http.StatusBadRequest, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
	case errors.Is(err, store.ErrPreconditionFailed):
		return errPreconditionFailed
	case errors.Is(err, store.ErrCorrupt):
		return apiErr(http.StatusInternalServerError, "InternalError", "The stored object failed its integrity check.")
	case errors.Is(err, store.ErrUnavailable):
		return apiErr(http.StatusServiceUnavailable, "ServiceUnavailable", "Too few of the nodes holding this object are reachable right now; please retry.")
	case errors.Is(err, checksum.ErrUnsupported):
		return apiErr(http.StatusBadRequest, "InvalidRequest", "Value for x-amz-checksum-algorithm header is invalid.")
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		// 507, as MinIO answers a full drive: SDKs do not retry it.
		return errStorageFull
	case errors.Is(err, obs.ErrBodyTimeout):
		return errRequestTimeout
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apiErr(499, "RequestCanceled", "The request was canceled.")
	}
	return apiErr(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
}

type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

// writeError sends err as an S3 XML error. HEAD responses carry no body.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	log := obs.Logger(r.Context())
	if ae.Status >= 500 {
		log.Error("s3 error", "code", ae.Code, "err", err)
	} else {
		log.Debug("s3 error", "code", ae.Code, "err", err)
	}
	id := obs.RequestID(r.Context())
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	// Drop object headers that a failed GET may have staged.
	for _, k := range []string{"ETag", "Last-Modified", "Content-Length", "Content-Range", "Accept-Ranges"} {
		h.Del(k)
	}
	setDeleteMarkerHeaders(w, err)
	status := ae.Status
	if status == 499 {
		status = http.StatusBadRequest
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(errorBody{Code: ae.Code, Message: ae.Message, Resource: r.URL.Path, RequestID: id, HostID: id})
}

// writeXML sends v as a 200 XML response.
func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}
