package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// v2SubResources are the query parameters that enter a SigV2 canonical
// resource (S3's sub-resources and response overrides): the union of what
// Amazon S3, botocore, s3cmd and MinIO sign. Any other parameter is left
// out, as S3 does.
var v2SubResources = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "attributes": true, "cors": true, "delete": true,
	"encryption": true, "inventory": true, "legal-hold": true, "lifecycle": true, "location": true,
	"logging": true, "metrics": true, "notification": true, "object-lock": true, "partNumber": true,
	"policy": true, "replication": true, "requestPayment": true, "restore": true, "retention": true,
	"select": true, "select-type": true, "tagging": true, "torrent": true, "uploadId": true, "uploads": true,
	"versionId": true, "versioning": true, "versions": true, "website": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"response-content-language": true, "response-content-type": true, "response-expires": true,
}

// v2Input is what SigV2 header and query authentication reduce to.
type v2Input struct {
	accessKey, signature string
	date                 string // the Date line: the Date header, or Expires for a URL
	emptyDateToo         bool   // also try an empty Date line
}

// parseV2Authorization splits "AWS AKID:signature".
func parseV2Authorization(h string) (v2Input, *Error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(h), "AWS ")
	if !ok {
		return v2Input{}, errUnsupportedScheme()
	}
	ak, sig, ok := strings.Cut(strings.TrimSpace(rest), ":")
	if !ok || ak == "" || sig == "" {
		return v2Input{}, newErr(http.StatusBadRequest, codeInvalidArgument, "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature")
	}
	return v2Input{accessKey: ak, signature: sig}, nil
}

func (v *Verifier) verifyV2Header(ctx context.Context, r *http.Request, authz string) (*Result, error) {
	in, e := parseV2Authorization(authz)
	if e != nil {
		return nil, e
	}
	t, ok := v2RequestTime(r)
	if !ok {
		return nil, errNoDate()
	}
	if d := v.now().Sub(t); d > v.maxSkew() || d < -v.maxSkew() {
		return nil, errSkewed()
	}
	in.date = r.Header.Get("Date")
	// With x-amz-date present S3 signs an empty Date line; some clients
	// (MinIO's verifier, botocore) use the Date header anyway.
	in.emptyDateToo = in.date != "" && r.Header.Get("X-Amz-Date") != ""
	return v.checkV2(ctx, r, in, false)
}

func (v *Verifier) verifyV2Query(ctx context.Context, r *http.Request, params map[string][]string) (*Result, error) {
	ak, ok1 := presignParam(params, "AWSAccessKeyId")
	sig, ok2 := presignParam(params, "Signature")
	exp, ok3 := presignParam(params, "Expires")
	if !ok1 || !ok2 || !ok3 {
		return nil, newErr(http.StatusForbidden, codeAccessDenied,
			"Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return nil, newErr(http.StatusForbidden, codeAccessDenied, "Invalid date (should be seconds since epoch): "+exp)
	}
	if v.now().Unix() > secs {
		return nil, errExpired()
	}
	return v.checkV2(ctx, r, v2Input{accessKey: ak, signature: sig, date: exp}, true)
}

// v2RequestTime reads x-amz-date, else Date, in any HTTP date form (RFC
// 1123 with GMT or a numeric zone, RFC 850, asctime) or ISO 8601 basic.
func v2RequestTime(r *http.Request) (time.Time, bool) {
	v := r.Header.Get("X-Amz-Date")
	if v == "" {
		v = r.Header.Get("Date")
	}
	if v == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, time.RFC850, time.ANSIC, amzDateLayout} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// checkV2 looks the key up and compares the HMAC-SHA1 signature.
func (v *Verifier) checkV2(ctx context.Context, r *http.Request, in v2Input, presigned bool) (*Result, error) {
	cred, err := v.lookup(ctx, in.accessKey)
	if err != nil {
		return nil, err
	}
	given, err := base64.StdEncoding.DecodeString(in.signature)
	if err != nil || len(given) != sha1.Size {
		return nil, errSignatureMismatch()
	}
	if !v.matchV2(r, in, cred.Secret, given) {
		return nil, errSignatureMismatch()
	}
	res := &Result{
		Credential: cred, Presigned: presigned, Service: "s3", Region: v.Region,
		PayloadHash: unsignedPayload, DecodedLength: r.ContentLength, Trailer: emptyTrailer, Body: r.Body,
		SignatureV2: true,
	}
	if res.Region == "" {
		res.Region = DefaultRegion
	}
	// x-amz-content-sha256 is signed like every x-amz-* header; a hex
	// value is held to the body.
	if ph := r.Header.Get("X-Amz-Content-Sha256"); isHexSHA256(ph) {
		res.PayloadHash = strings.ToLower(ph)
		res.Body = newHashReader(r.Body, ph)
	}
	return res, nil
}

// matchV2 compares the signature given against every path form and date
// line a client may have signed.
func (v *Verifier) matchV2(r *http.Request, in v2Input, secret string, given []byte) bool {
	dates := []string{in.date}
	if in.emptyDateToo {
		dates = append(dates, "")
	}
	for _, path := range v2Paths(r.URL) {
		for _, date := range dates {
			mac := hmac.New(sha1.New, []byte(secret))
			mac.Write([]byte(v2StringToSign(r, date, v.v2Resource(r, path))))
			if hmac.Equal(mac.Sum(nil), given) {
				return true
			}
		}
	}
	return false
}

// v2StringToSign builds SigV2's string to sign: method, Content-MD5,
// Content-Type, the date line, then every x-amz-* header (so none can be
// added unsigned) and the canonical resource.
func v2StringToSign(r *http.Request, date, resource string) string {
	var b strings.Builder
	for _, s := range []string{r.Method, r.Header.Get("Content-MD5"), r.Header.Get("Content-Type"), date} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	b.WriteString(v2AmzHeaders(r.Header))
	b.WriteString(resource)
	return b.String()
}

// v2AmzHeaders canonicalizes the x-amz-* headers: lower-case names in
// order, repeated values joined by commas, each line "name:value\n".
func v2AmzHeaders(h http.Header) string {
	var names []string
	for k := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") {
			names = append(names, k)
		}
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	var b strings.Builder
	for _, k := range names {
		vals := make([]string, len(h[k]))
		for i, val := range h[k] {
			vals[i] = canonicalHeaderValue(val)
		}
		b.WriteString(strings.ToLower(k))
		b.WriteByte(':')
		b.WriteString(strings.Join(vals, ","))
		b.WriteByte('\n')
	}
	return b.String()
}

// v2Paths returns the forms of the request path a SigV2 client may have
// signed, the usual one first: the path as sent (botocore, minio-go),
// the decoded path encoded once per segment as S3 does, and the decoded
// path.
func v2Paths(u *url.URL) []string {
	var out []string
	for _, p := range []string{u.EscapedPath(), uriEncode(u.Path, true), u.Path} {
		if p == "" {
			p = "/"
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// v2Resource is SigV2's canonical resource: /bucket (from Host in
// virtual-host style) then path (one of v2Paths), then the signed
// sub-resources sorted, values decoded.
func (v *Verifier) v2Resource(r *http.Request, path string) string {
	if b := v.virtualBucket(r.Host); b != "" {
		path = "/" + b + path
	}
	var subs []string
	for k, vals := range parseQuery(r.URL.RawQuery) {
		if !v2SubResources[k] {
			continue
		}
		for _, val := range vals {
			if val == "" {
				subs = append(subs, k)
			} else {
				subs = append(subs, k+"="+val)
			}
		}
	}
	if len(subs) == 0 {
		return path
	}
	sort.Strings(subs)
	return path + "?" + strings.Join(subs, "&")
}

// virtualBucket returns the bucket a Host names under Domain, or "".
func (v *Verifier) virtualBucket(host string) string {
	if v.Domain == "" {
		return ""
	}
	host = strings.ToLower(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	b, _ := strings.CutSuffix(host, "."+strings.ToLower(v.Domain))
	if b == host {
		return ""
	}
	return b
}
