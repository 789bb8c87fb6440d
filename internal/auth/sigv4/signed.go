package sigv4

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// unsignedHeaders returns the headers present in r that a signature must
// cover but signed does not list, sorted: host, and every x-amz-* header
// except x-amz-content-sha256. S3 does not require that one to be signed
// (its value is the last line of the canonical request, so the signature
// covers it anyway, and for a presigned URL the X-Amz-Content-Sha256 query
// parameter is what counts).
func unsignedHeaders(r *http.Request, signed []string) []string {
	has := make(map[string]bool, len(signed))
	for _, h := range signed {
		has[strings.ToLower(h)] = true
	}
	var missing []string
	if !has["host"] {
		missing = append(missing, "host")
	}
	for name := range r.Header {
		n := strings.ToLower(name)
		if strings.HasPrefix(n, "x-amz-") && n != "x-amz-content-sha256" && !has[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	return missing
}

// checkScope refuses a credential scope that names another region or
// service than the Verifier accepts. presigned selects the error form.
func (v *Verifier) checkScope(sc scope, presigned bool) *Error {
	var detail string
	switch {
	case v.Region != "" && sc.region != v.Region:
		detail = "the region " + strconv.Quote(sc.region) + " is wrong; expecting " + strconv.Quote(v.Region)
	case len(v.Services) > 0 && !slices.Contains(v.Services, sc.service):
		detail = "incorrect service " + strconv.Quote(sc.service) + ". This endpoint belongs to " + strconv.Quote(v.Services[0]) + "."
	default:
		return nil
	}
	if presigned {
		return errQueryMalformed("Error parsing the X-Amz-Credential parameter; " + detail)
	}
	return errHeaderMalformed(detail)
}

// checkSigned refuses a request whose signature leaves out headers it must
// cover (see unsignedHeaders), as S3 does.
func checkSigned(r *http.Request, signed []string) *Error {
	if missing := unsignedHeaders(r, signed); len(missing) > 0 {
		return errHeadersNotSigned(missing)
	}
	return nil
}
