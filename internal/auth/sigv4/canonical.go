package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	algorithmHMAC   = "AWS4-HMAC-SHA256"
	algorithmECDSA  = "AWS4-ECDSA-P256-SHA256"
	scopeTerminator = "aws4_request"

	amzDateLayout   = "20060102T150405Z"
	scopeDateLayout = "20060102"

	// emptySHA256 is hex(sha256("")).
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	unsignedPayload         = "UNSIGNED-PAYLOAD"
	streamingSigned         = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer  = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailr = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingECDSA          = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
	streamingECDSATrailer   = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
)

// scope is a parsed credential scope: <key>/<date>/<region>/<service>/aws4_request.
type scope struct {
	accessKey, date, region, service string
}

func (s scope) String() string {
	return s.date + "/" + s.region + "/" + s.service + "/" + scopeTerminator
}

// parseCredential splits a Credential value. It returns a description of
// the problem when the value is not of the documented form.
func parseCredential(v string) (scope, string) {
	parts := strings.Split(v, "/")
	if len(parts) != 5 {
		return scope{}, `the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`
	}
	s := scope{accessKey: parts[0], date: parts[1], region: parts[2], service: parts[3]}
	if s.accessKey == "" || s.region == "" || s.service == "" {
		return scope{}, `the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`
	}
	if _, err := time.Parse(scopeDateLayout, s.date); err != nil || len(s.date) != 8 {
		return scope{}, "incorrect date format " + strconv.Quote(s.date) + ". This date in the credential must be in the format \"yyyyMMdd\"."
	}
	if parts[4] != scopeTerminator {
		return scope{}, "incorrect terminal " + strconv.Quote(parts[4]) + ". This endpoint uses \"aws4_request\"."
	}
	return s, ""
}

// isUnreserved reports whether c is an RFC 3986 unreserved character.
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// uriEncode percent-encodes every byte of s except the unreserved
// characters (and '/' when keepSlash), with upper-case hex, as SigV4 does.
func uriEncode(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isUnreserved(s[i]) && !(keepSlash && s[i] == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || keepSlash && c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&15])
	}
	return b.String()
}

// canonicalURIs returns the canonical URI candidates for r, the preferred
// one first: the decoded path encoded once per segment (what S3 clients
// sign), then the path exactly as the client escaped it, and for services
// other than S3 the doubly encoded form the generic SigV4 algorithm uses.
func canonicalURIs(u *url.URL, service string) []string {
	path := u.Path
	if path == "" {
		path = "/"
	}
	out := []string{uriEncode(path, true)}
	add := func(s string) {
		for _, have := range out {
			if have == s {
				return
			}
		}
		out = append(out, s)
	}
	raw := u.RawPath
	if raw == "" {
		raw = u.EscapedPath()
	}
	if raw == "" {
		raw = "/"
	}
	add(raw)
	if service != "s3" {
		add(uriEncode(out[0], true))
	}
	return out
}

// canonicalQuery builds the canonical query string from a raw query: every
// parameter except skip (X-Amz-Signature for presigned URLs), names and
// values decoded then re-encoded with RFC 3986 rules (space as %20), sorted
// by name then value; a parameter without value becomes "name=".
func canonicalQuery(rawQuery, skip string) string {
	if rawQuery == "" {
		return ""
	}
	type kv struct{ k, v string }
	var params []kv
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = queryUnescape(k), queryUnescape(v)
		if skip != "" && k == skip {
			continue
		}
		params = append(params, kv{uriEncode(k, false), uriEncode(v, false)})
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// queryUnescape decodes a query component ('+' is a space); a component that
// is not valid percent-encoding is kept as sent.
func queryUnescape(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// canonicalHeaderValue trims v and collapses internal runs of spaces.
func canonicalHeaderValue(v string) string {
	v = strings.Trim(v, " \t")
	if !strings.Contains(v, "  ") && !strings.Contains(v, "\t") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == '\t' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteByte(c)
	}
	return b.String()
}

// headerValue returns the value a client signed for the lower-case header
// name, looking where Go's server puts the headers it takes out of r.Header.
func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return r.Host
	case "content-length":
		if v := r.Header.Values("Content-Length"); len(v) > 0 {
			return joinValues(v)
		}
		if r.ContentLength >= 0 {
			return strconv.FormatInt(r.ContentLength, 10)
		}
		return ""
	case "transfer-encoding":
		if v := r.Header.Values("Transfer-Encoding"); len(v) > 0 {
			return joinValues(v)
		}
		return strings.Join(r.TransferEncoding, ",")
	}
	return joinValues(r.Header.Values(name))
}

func joinValues(vs []string) string {
	if len(vs) == 1 {
		return canonicalHeaderValue(vs[0])
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = canonicalHeaderValue(v)
	}
	return strings.Join(out, ",")
}

// canonicalRequest assembles the canonical request. signed is the
// SignedHeaders list as the client sent it (lower-case, ';'-separated).
func canonicalRequest(r *http.Request, uri, query string, signed []string, signedList, payloadHash string) string {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	for _, h := range signed {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(signedList)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// stringToSign is the SigV4 string to sign for a canonical request.
func stringToSign(amzDate string, sc scope, canonical string) string {
	h := sha256.Sum256([]byte(canonical))
	return algorithmHMAC + "\n" + amzDate + "\n" + sc.String() + "\n" + hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// deriveSigningKey computes HMAC("AWS4"+secret, date) chained over region,
// service and "aws4_request".
func deriveSigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, scopeTerminator)
}

// signHex returns hex(HMAC(key, s)).
func signHex(key []byte, s string) string {
	return hex.EncodeToString(hmacSHA256(key, s))
}

// sigEqual compares a computed lower-case hex signature with one a client
// sent, in constant time with respect to the contents.
func sigEqual(computedHex, given string) bool {
	want, err := hex.DecodeString(computedHex)
	if err != nil {
		return false
	}
	got, err := hex.DecodeString(given)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	return hmac.Equal(want, got)
}

// isHexSHA256 reports whether s is 64 hex digits.
func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
