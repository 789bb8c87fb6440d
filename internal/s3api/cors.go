package s3api

import (
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
)

// A bucket's CORS configuration (PutBucketCors), in AWS's XML. It is
// validated as S3 validates it, stored in meta (cors_store.go) and
// matched against requests by corsConfig.match.

const (
	maxCORSRules = 100
	maxCORSBody  = 64 << 10 // S3's limit on a CORS configuration
	maxCORSID    = 255
)

// corsConfiguration is the XML body of PutBucketCors and GetBucketCors.
type corsConfiguration struct {
	XMLName xml.Name   `xml:"CORSConfiguration"`
	NS      string     `xml:"xmlns,attr,omitempty"`
	Rules   []corsRule `xml:"CORSRule"`
}

// corsRule is one CORSRule; it is also the stored form (JSON).
type corsRule struct {
	ID             string   `xml:"ID,omitempty" json:"id,omitempty"`
	AllowedMethods []string `xml:"AllowedMethod" json:"methods"`
	AllowedOrigins []string `xml:"AllowedOrigin" json:"origins"`
	AllowedHeaders []string `xml:"AllowedHeader,omitempty" json:"headers,omitempty"`
	ExposeHeaders  []string `xml:"ExposeHeader,omitempty" json:"expose,omitempty"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds,omitempty" json:"max_age,omitempty"`
}

// corsMethods are the methods a CORSRule may allow.
var corsMethods = []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead}

// parseCORS decodes and validates a PutBucketCors body: MalformedXML for
// a body that is not a CORSConfiguration of 1..100 rules each with at
// least one AllowedMethod and AllowedOrigin, InvalidRequest for values S3
// refuses (an unknown method, more than one '*' in an origin or header,
// a negative MaxAgeSeconds, an ID over 255 characters).
func parseCORS(body []byte) ([]corsRule, error) {
	var c corsConfiguration
	if err := xml.Unmarshal(body, &c); err != nil || c.XMLName.Local != "CORSConfiguration" {
		return nil, errMalformedXML
	}
	if len(c.Rules) == 0 || len(c.Rules) > maxCORSRules {
		return nil, errMalformedXML
	}
	for i := range c.Rules {
		if err := c.Rules[i].validate(); err != nil {
			return nil, err
		}
	}
	return c.Rules, nil
}

func (r *corsRule) validate() error {
	if len(r.AllowedMethods) == 0 || len(r.AllowedOrigins) == 0 {
		return errMalformedXML
	}
	for i, m := range r.AllowedMethods {
		r.AllowedMethods[i] = strings.TrimSpace(m)
		if !slices.Contains(corsMethods, r.AllowedMethods[i]) {
			return apiErr(http.StatusBadRequest, "InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is %s", m)
		}
	}
	for i, o := range r.AllowedOrigins {
		r.AllowedOrigins[i] = strings.TrimSpace(o)
		if strings.Count(o, "*") > 1 {
			return apiErr(http.StatusBadRequest, "InvalidRequest", "AllowedOrigin %q can not have more than one wildcard.", o)
		}
	}
	for i, h := range r.AllowedHeaders {
		r.AllowedHeaders[i] = strings.ToLower(strings.TrimSpace(h))
		if strings.Count(h, "*") > 1 {
			return apiErr(http.StatusBadRequest, "InvalidRequest", "AllowedHeader %q can not have more than one wildcard.", h)
		}
	}
	for i, h := range r.ExposeHeaders {
		r.ExposeHeaders[i] = strings.TrimSpace(h)
	}
	if r.MaxAgeSeconds != nil && *r.MaxAgeSeconds < 0 {
		return errMalformedXML
	}
	if len(r.ID) > maxCORSID {
		return apiErr(http.StatusBadRequest, "InvalidRequest", "The ID of a CORSRule can be at most %d characters long.", maxCORSID)
	}
	return nil
}

// wildMatch reports whether s matches pattern, which holds at most one
// '*' standing for any run of characters (validate enforces one).
func wildMatch(pattern, s string) bool {
	pre, suf, wild := strings.Cut(pattern, "*")
	if !wild {
		return pattern == s
	}
	return len(s) >= len(pre)+len(suf) && strings.HasPrefix(s, pre) && strings.HasSuffix(s, suf)
}

// corsConfig is a bucket's stored rules, ready to match.
type corsConfig struct {
	rules []corsRule
}

// corsQuery is what a request asks of the CORS configuration.
type corsQuery struct {
	origin, method string
	headers        []string // lower case; nil for an actual request
}

// match returns the first rule allowing q and the origin to answer with
// ("*" when the rule allows every origin), or nil.
func (c *corsConfig) match(q corsQuery) (*corsRule, string) {
	for i := range c.rules {
		r := &c.rules[i]
		allow, ok := r.allowsOrigin(q.origin)
		if !ok || !slices.Contains(r.AllowedMethods, q.method) || !r.allowsHeaders(q.headers) {
			continue
		}
		return r, allow
	}
	return nil, ""
}

func (r *corsRule) allowsOrigin(origin string) (string, bool) {
	for _, o := range r.AllowedOrigins {
		if o == "*" {
			return "*", true
		}
		if wildMatch(o, origin) {
			return origin, true
		}
	}
	return "", false
}

func (r *corsRule) allowsHeaders(headers []string) bool {
	for _, h := range headers {
		if !slices.ContainsFunc(r.AllowedHeaders, func(p string) bool { return wildMatch(p, h) }) {
			return false
		}
	}
	return true
}
