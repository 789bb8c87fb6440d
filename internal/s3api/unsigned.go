package s3api

import (
	"mime"
	"net/http"
	"net/url"
)

// corsPostOp names the operations of CORS and browser uploads: the CORS
// sub-resource of a bucket, a preflight (OPTIONS) and POST Object (a
// multipart/form-data POST on a bucket); "" for any other request.
func corsPostOp(method, key string, q url.Values, h http.Header) string {
	if method == http.MethodOptions {
		return "PreflightCORS"
	}
	if key != "" {
		return ""
	}
	if q.Has("cors") {
		switch method {
		case http.MethodPut:
			return "PutBucketCors"
		case http.MethodGet:
			return "GetBucketCors"
		case http.MethodDelete:
			return "DeleteBucketCors"
		}
		return ""
	}
	if method == http.MethodPost && len(q) == 0 && isFormData(h.Get("Content-Type")) {
		return "PostObject"
	}
	return ""
}

func isFormData(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "multipart/form-data"
}

// serveUnsigned sets the CORS headers of a request carrying Origin and
// serves the requests S3 answers without a signature: preflights, and
// POST Object, whose signature is in its form (post_object.go). It
// reports whether it served the request.
func (h *Handler) serveUnsigned(w http.ResponseWriter, r *http.Request, bucket, op string) bool {
	switch op {
	case "PreflightCORS":
		h.preflight(w, r, bucket)
		return true
	case "PostObject":
		h.corsHeaders(w, r, bucket)
		h.postObject(w, r, bucket)
		return true
	}
	h.corsHeaders(w, r, bucket)
	return false
}
