package s3api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/insitu-cloud/insitu/internal/obs"
)

var (
	errCORSNotEnabled = &APIError{http.StatusForbidden, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket."}
	errCORSNotAllowed = &APIError{http.StatusForbidden, "AccessForbidden", "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."}
	errCORSNoOrigin   = &APIError{http.StatusBadRequest, "BadRequest", "Insufficient information. Origin request header needed."}
)

// preflight answers a CORS preflight (OPTIONS on a bucket or an object)
// without authentication, as S3 does: 200 with the first matching rule's
// Access-Control-* headers, 403 AccessForbidden when the bucket has no
// configuration or no rule allows the origin, method and headers asked.
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request, bucket string) {
	origin := r.Header.Get("Origin")
	method := r.Header.Get("Access-Control-Request-Method")
	switch {
	case bucket == "":
		writeError(w, r, errMethodNotAllowed)
		return
	case origin == "":
		writeError(w, r, errCORSNoOrigin)
		return
	case !slices.Contains(corsMethods, method):
		writeError(w, r, apiErr(http.StatusBadRequest, "BadRequest", "Invalid Access-Control-Request-Method: %s", method))
		return
	}
	c, err := h.cors(r.Context(), bucket)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if c == nil {
		writeError(w, r, errCORSNotEnabled)
		return
	}
	headers := requestedHeaders(r.Header.Values("Access-Control-Request-Headers"))
	rule, allow := c.match(corsQuery{origin: origin, method: method, headers: headers})
	hd := w.Header()
	hd.Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
	if rule == nil {
		writeError(w, r, errCORSNotAllowed)
		return
	}
	setCORSOrigin(hd, rule, allow)
	hd.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
	if len(headers) > 0 {
		hd.Set("Access-Control-Allow-Headers", strings.Join(headers, ", "))
	}
	if rule.MaxAgeSeconds != nil {
		hd.Set("Access-Control-Max-Age", strconv.Itoa(*rule.MaxAgeSeconds))
	}
	w.WriteHeader(http.StatusOK)
}

// setCORSOrigin sets the headers every allowed CORS response carries.
func setCORSOrigin(hd http.Header, rule *corsRule, allow string) {
	hd.Set("Access-Control-Allow-Origin", allow)
	if allow != "*" {
		hd.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(rule.ExposeHeaders) > 0 {
		hd.Set("Access-Control-Expose-Headers", strings.Join(rule.ExposeHeaders, ", "))
	}
}

// requestedHeaders splits Access-Control-Request-Headers values into
// lower-case names.
func requestedHeaders(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, f := range strings.Split(v, ",") {
			if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// corsHeaders sets the CORS headers of an actual request carrying Origin
// (authenticated, presigned or a POST upload) from bucket's first rule
// allowing the origin and method. They are set before the request is
// served, so error responses carry them too, as S3's do. A failure to
// read the configuration only leaves them out.
func (h *Handler) corsHeaders(w http.ResponseWriter, r *http.Request, bucket string) {
	origin := r.Header.Get("Origin")
	if origin == "" || bucket == "" {
		return
	}
	c, err := h.cors(r.Context(), bucket)
	if err != nil {
		obs.Logger(r.Context()).Warn("cors configuration unreadable", "bucket", bucket, "err", err)
		return
	}
	if c == nil {
		return
	}
	hd := w.Header()
	hd.Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
	if rule, allow := c.match(corsQuery{origin: origin, method: r.Method}); rule != nil {
		setCORSOrigin(hd, rule, allow)
		hd.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
	}
}
