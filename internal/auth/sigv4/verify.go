package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Credential is one access key and the account that owns it.
type Credential struct {
	AccessKey, Secret string
	// Account is the account's name (the user-facing handle); AccountID
	// its stable id, the one ownership is recorded and checked by.
	Account, AccountID string
}

// KeyStore finds a secret by access key. Lookup returns an error wrapping
// ErrUnknownKey when the key does not exist; any other error is treated as
// an internal failure and returned by Verify. It must be safe for
// concurrent use.
type KeyStore interface {
	Lookup(ctx context.Context, accessKey string) (Credential, error)
}

// DefaultRegion is the region of a node, client or bucket that names none,
// as in AWS (an empty LocationConstraint means this region). It is defined
// here, once, for every package.
const DefaultRegion = "us-east-1"

// DefaultMaxSkew is the clock difference allowed when MaxSkew is zero.
const DefaultMaxSkew = 15 * time.Minute

// MaxBufferedPayload bounds the body Verify reads into memory to hash it
// when a request for a service other than "s3" carries no
// x-amz-content-sha256 header (for example EC2 Query API calls, whose
// signature covers the hash of the form body).
const MaxBufferedPayload = 1 << 20

// signingKeyCacheSize bounds the derived signing keys a Verifier keeps.
const signingKeyCacheSize = 256

// Verifier authenticates SigV4 requests.
//
// The zero value of every field is a usable default except Keys, which is
// required. A Verifier is safe for concurrent use once its fields are set
// and must not be copied after first use (it holds a small cache of derived
// signing keys, at most 256 entries, guarded by a mutex).
type Verifier struct {
	Keys    KeyStore
	Now     func() time.Time // nil = time.Now
	MaxSkew time.Duration    // 0 = 15 minutes (DefaultMaxSkew)

	// Region, when set, is the only region a credential scope may name;
	// another answers AuthorizationHeaderMalformed (or
	// AuthorizationQueryParametersError for a presigned URL), as S3 does.
	// Empty accepts any region.
	Region string
	// Services lists the service names a credential scope may name (a node
	// sets ["s3"]: its S3, native and service faces all sign as "s3"). Nil
	// accepts any.
	Services []string
	// Domain, when set, makes a request whose Host is BUCKET.Domain name
	// its bucket by Host (virtual-host style): SigV2's canonical resource
	// then starts with /BUCKET. Empty: path style only.
	Domain string

	mu    sync.Mutex
	cache map[[32]byte][]byte
}

// Result is a verified request.
type Result struct {
	Credential Credential
	Presigned  bool
	// SignatureV2 is true for a request signed with AWS Signature
	// Version 2 (header or query form), whose payload is not signed.
	SignatureV2 bool
	// Deferred is true when the signature could only be checked against
	// the body's SHA-256 (a SigV4 header request without
	// x-amz-content-sha256 whose body is over MaxBufferedPayload or of
	// unknown length): Body returns SignatureDoesNotMatch instead of
	// io.EOF when it does not match. Until Body has returned io.EOF the
	// request is NOT authenticated; only act on it in ways that read the
	// whole body before committing anything.
	Deferred        bool
	Service, Region string // from the credential scope

	// PayloadHash is the x-amz-content-sha256 value the signature covers
	// (UNSIGNED-PAYLOAD for a presigned URL without X-Amz-Content-Sha256).
	PayloadHash string

	// Body is the decoded payload to read instead of r.Body. It verifies as
	// it goes: a hex x-amz-content-sha256 is checked at EOF
	// (XAmzContentSHA256Mismatch); aws-chunked bodies are de-chunked and
	// every chunk signature and the trailer signature are verified before
	// the bytes they cover are returned. On any verification failure Read
	// returns an *Error instead of data or io.EOF, and keeps returning it.
	// Errors of the underlying connection are returned as they are. Close
	// closes r.Body.
	Body io.ReadCloser

	// DecodedLength is x-amz-decoded-content-length for chunked bodies,
	// else r.ContentLength (-1 when unknown).
	DecodedLength int64

	// Trailer returns the trailing headers (lower-case names, for example
	// "x-amz-checksum-crc32") once Body has returned io.EOF; before that,
	// and for requests without trailers, it returns an empty header.
	Trailer func() http.Header
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

// Verify authenticates r by its Authorization header or its presigned
// query, with SigV4 only. It does not consume the body (except for a
// request without x-amz-content-sha256, whose body, at most
// MaxBufferedPayload bytes, must be hashed to check the signature; a
// larger one or one of unknown length answers InvalidRequest); read
// Result.Body instead of r.Body. Authentication failures are *Error
// values; a KeyStore failure other than ErrUnknownKey is returned wrapped.
func (v *Verifier) Verify(ctx context.Context, r *http.Request) (*Result, error) {
	return v.verify(ctx, r, false)
}

// VerifyS3 is Verify for the S3 face, which also accepts what only S3
// clients send: SigV2 (header and presigned URL; Result.SignatureV2) and
// SigV4 header requests without x-amz-content-sha256 whose body is too
// large to buffer, checked at the body's EOF (Result.Deferred: the caller
// must not commit anything before Body has returned io.EOF).
func (v *Verifier) VerifyS3(ctx context.Context, r *http.Request) (*Result, error) {
	return v.verify(ctx, r, true)
}

func (v *Verifier) verify(ctx context.Context, r *http.Request, s3 bool) (*Result, error) {
	if r.Body == nil {
		// Client-side requests may have no body; server requests always do.
		r = r.WithContext(r.Context())
		r.Body = http.NoBody
	}
	auth := r.Header.Values("Authorization")
	hasAuth := len(auth) > 0 && (len(auth) > 1 || strings.TrimSpace(auth[0]) != "")
	params := parseQuery(r.URL.RawQuery)
	_, hasSig := params["X-Amz-Signature"]
	_, hasAlg := params["X-Amz-Algorithm"]
	_, hasCred := params["X-Amz-Credential"]
	hasPresign := hasSig || hasAlg || hasCred
	_, hasV2Sig := params["Signature"]
	_, hasV2Key := params["AWSAccessKeyId"]
	hasV2Query := hasV2Sig && hasV2Key
	switch {
	case hasAuth && (hasPresign || hasV2Query):
		return nil, errTwoMechanisms()
	case hasAuth:
		if len(auth) > 1 {
			return nil, errHeaderMalformed("more than one Authorization header.")
		}
		if s3 && strings.HasPrefix(strings.TrimSpace(auth[0]), "AWS ") {
			return v.verifyV2Header(ctx, r, auth[0])
		}
		return v.verifyHeader(ctx, r, auth[0], s3)
	case hasPresign:
		return v.verifyPresigned(ctx, r, params)
	case s3 && (hasV2Query || hasV2Key):
		return v.verifyV2Query(ctx, r, params)
	case hasV2Query:
		return nil, errUnsupportedV2()
	}
	return nil, errAnonymous()
}

// parseQuery decodes a raw query into a map, keeping values in order.
func parseQuery(raw string) map[string][]string {
	m := map[string][]string{}
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, val, _ := strings.Cut(part, "=")
		k = queryUnescape(k)
		m[k] = append(m[k], queryUnescape(val))
	}
	return m
}

// authInput is what both authentication forms reduce to.
type authInput struct {
	sc            scope
	signedHeaders []string // as sent, lower-case expected
	signedList    string
	signature     string
	amzDate       string // the timestamp as it enters the string to sign
	query         string // canonical query
	payloadHashes []string
}

// headerAuth is a parsed Authorization header.
type headerAuth struct {
	credential, signedHeaders, signature string
}

func parseAuthorization(h string) (headerAuth, *Error) {
	h = strings.TrimSpace(h)
	schemeName, rest, _ := strings.Cut(h, " ")
	switch schemeName {
	case algorithmHMAC:
	case algorithmECDSA:
		return headerAuth{}, errSigV4a()
	case "AWS":
		return headerAuth{}, errUnsupportedV2()
	default:
		return headerAuth{}, errUnsupportedScheme()
	}
	var a headerAuth
	seen := map[string]bool{}
	for field := range strings.SplitSeq(rest, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		k, val, ok := strings.Cut(field, "=")
		if !ok {
			return headerAuth{}, errHeaderMalformed("the authorization component " + strconv.Quote(field) + " is malformed.")
		}
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		if seen[k] {
			return headerAuth{}, errHeaderMalformed("the authorization component " + strconv.Quote(k) + " is repeated.")
		}
		seen[k] = true
		switch k {
		case "Credential":
			a.credential = val
		case "SignedHeaders":
			a.signedHeaders = val
		case "Signature":
			a.signature = val
		default:
			return headerAuth{}, errHeaderMalformed("the authorization component " + strconv.Quote(k) + " is not recognized.")
		}
	}
	switch {
	case a.credential == "":
		return headerAuth{}, errHeaderMalformed("missing Credential.")
	case a.signedHeaders == "":
		return headerAuth{}, errHeaderMalformed("missing SignedHeaders.")
	case a.signature == "":
		return headerAuth{}, errHeaderMalformed("missing Signature.")
	}
	return a, nil
}

// splitSignedHeaders splits a SignedHeaders value; ok is false when a name
// is empty.
func splitSignedHeaders(s string) ([]string, bool) {
	names := strings.Split(s, ";")
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, " \t\r\n:") {
			return nil, false
		}
	}
	return names, true
}

// requestTime returns the request timestamp from x-amz-date or Date and
// the string that enters the string to sign.
func requestTime(r *http.Request) (time.Time, string, bool) {
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(amzDateLayout, v)
		if err != nil {
			return time.Time{}, "", false
		}
		return t, v, true
	}
	if v := r.Header.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return time.Time{}, "", false
		}
		t = t.UTC()
		return t, t.Format(amzDateLayout), true
	}
	return time.Time{}, "", false
}

// verifyHeader checks the SigV4 Authorization header form; deferOK allows
// a body too large to buffer to be checked at EOF (payloadDeferred).
func (v *Verifier) verifyHeader(ctx context.Context, r *http.Request, authz string, deferOK bool) (*Result, error) {
	a, e := parseAuthorization(authz)
	if e != nil {
		return nil, e
	}
	sc, detail := parseCredential(a.credential)
	if detail != "" {
		return nil, errHeaderMalformed(detail)
	}
	signed, ok := splitSignedHeaders(a.signedHeaders)
	if !ok {
		return nil, errHeaderMalformed("the SignedHeaders component is malformed.")
	}
	t, amzDate, ok := requestTime(r)
	if !ok {
		return nil, errNoDate()
	}
	if sc.date != t.Format(scopeDateLayout) {
		return nil, errHeaderMalformed("Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	if e := v.checkScope(sc, false); e != nil {
		return nil, e
	}
	if e := checkSigned(r, signed); e != nil {
		return nil, e
	}
	if d := v.now().Sub(t); d > v.maxSkew() || d < -v.maxSkew() {
		return nil, errSkewed()
	}

	in := authInput{
		sc: sc, signedHeaders: signed, signedList: a.signedHeaders, signature: a.signature,
		amzDate: amzDate, query: canonicalQuery(r.URL.RawQuery, ""),
	}
	mode, payload, decoded, buffered, err := headerPayload(r, sc, &in)
	if err != nil {
		return nil, err
	}
	if mode == payloadDeferred {
		if !deferOK {
			return nil, errMissingContentSHA256()
		}
		return v.deferred(ctx, r, &in, decoded)
	}
	cred, key, matched, err := v.check(ctx, r, &in)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Credential:    cred,
		Service:       sc.service,
		Region:        sc.region,
		PayloadHash:   matched,
		DecodedLength: decoded,
		Trailer:       emptyTrailer,
	}
	v.setBody(res, r, mode, payload, buffered, chunkConfig{
		key: key, amzDate: amzDate, scope: sc.String(), seed: strings.ToLower(a.signature),
		decoded: decoded, trailers: declaredTrailers(r),
	})
	return res, nil
}

// headerPayload reads how a header-signed request's payload is signed
// (x-amz-content-sha256), sets the hashes the signature may cover in in,
// and returns the mode, the declared hash, the decoded length and, for a
// service that allows a missing hash, the body read to hash it.
func headerPayload(r *http.Request, sc scope, in *authInput) (mode payloadMode, payload string, decoded int64, buffered []byte, err error) {
	hashes := r.Header.Values("X-Amz-Content-Sha256")
	if len(hashes) > 1 {
		return 0, "", 0, nil, errBadContentSHA256()
	}
	if len(hashes) == 1 {
		payload = hashes[0]
	}
	mode, perr := classifyPayload(payload)
	if perr != nil { // a typed *Error: compare before it becomes an error
		return 0, "", 0, nil, perr
	}
	decoded = r.ContentLength
	in.payloadHashes = []string{payload}
	switch mode {
	case payloadMissing:
		if sc.service == "s3" && (r.ContentLength < 0 || r.ContentLength > MaxBufferedPayload) {
			// Too large to hold: the signature is checked at EOF.
			return payloadDeferred, "", r.ContentLength, nil, nil
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, MaxBufferedPayload+1))
		if err != nil {
			return 0, "", 0, nil, fmt.Errorf("sigv4: reading body to hash it: %w", err)
		}
		if len(b) > MaxBufferedPayload {
			return 0, "", 0, nil, errBodyTooLarge()
		}
		sum := sha256.Sum256(b)
		in.payloadHashes = []string{hex.EncodeToString(sum[:])}
		if sc.service != "s3" {
			in.payloadHashes = append(in.payloadHashes, unsignedPayload)
		}
		return mode, payload, int64(len(b)), b, nil
	case payloadStreamSigned, payloadStreamSignedTrailer, payloadStreamUnsignedTrailer:
		dl := r.Header.Values("X-Amz-Decoded-Content-Length")
		if len(dl) == 0 {
			return 0, "", 0, nil, errMissingDecodedLength()
		}
		n, err := strconv.ParseInt(dl[0], 10, 64)
		if len(dl) > 1 || err != nil || n < 0 {
			return 0, "", 0, nil, errBadDecodedLength()
		}
		decoded = n
	}
	return mode, payload, decoded, nil, nil
}

// setBody gives res the reader that verifies the payload as it is read:
// the buffered bytes, a hash check, the body as is (UNSIGNED-PAYLOAD), or
// the aws-chunked decoder (cc without its mode, which mode sets).
func (v *Verifier) setBody(res *Result, r *http.Request, mode payloadMode, payload string, buffered []byte, cc chunkConfig) {
	switch mode {
	case payloadMissing:
		res.Body = &bufferedBody{Reader: bytes.NewReader(buffered), src: r.Body}
	case payloadHex:
		res.Body = newHashReader(r.Body, payload)
	case payloadUnsigned:
		res.Body = r.Body
	default:
		cc.mode = streamMode(mode)
		cr := newChunkedReader(r.Body, cc)
		res.Body = cr
		res.Trailer = cr.Trailer
	}
}

func emptyTrailer() http.Header { return http.Header{} }

// declaredTrailers returns the lower-case names listed in x-amz-trailer.
func declaredTrailers(r *http.Request) map[string]bool {
	m := map[string]bool{}
	for _, v := range r.Header.Values("X-Amz-Trailer") {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "" {
				m[name] = true
			}
		}
	}
	return m
}

// payload modes named by x-amz-content-sha256.
type payloadMode int

const (
	payloadMissing payloadMode = iota
	payloadHex
	payloadUnsigned
	payloadStreamSigned
	payloadStreamSignedTrailer
	payloadStreamUnsignedTrailer
	// payloadDeferred: no x-amz-content-sha256 and a body too large to
	// buffer; the signature covers the body's hash, checked at EOF.
	payloadDeferred
)

func classifyPayload(v string) (payloadMode, *Error) {
	switch v {
	case "":
		return payloadMissing, nil
	case unsignedPayload:
		return payloadUnsigned, nil
	case streamingSigned:
		return payloadStreamSigned, nil
	case streamingSignedTrailer:
		return payloadStreamSignedTrailer, nil
	case streamingUnsignedTrailr:
		return payloadStreamUnsignedTrailer, nil
	case streamingECDSA, streamingECDSATrailer:
		return 0, errSigV4a()
	}
	if isHexSHA256(v) {
		return payloadHex, nil
	}
	return 0, errBadContentSHA256()
}

func streamMode(m payloadMode) chunkMode {
	switch m {
	case payloadStreamSignedTrailer:
		return modeSignedTrailer
	case payloadStreamUnsignedTrailer:
		return modeUnsignedTrailer
	}
	return modeSigned
}

// check looks the key up and compares the signature against every
// canonical URI and payload hash candidate. It returns the credential, the
// signing key and the payload hash that matched.
func (v *Verifier) check(ctx context.Context, r *http.Request, in *authInput) (Credential, []byte, string, error) {
	cred, err := v.lookup(ctx, in.sc.accessKey)
	if err != nil {
		return Credential{}, nil, "", err
	}
	key := v.signingKey(cred.Secret, in.sc)
	if ph, ok := matchSignature(r, in, key); ok {
		return cred, key, ph, nil
	}
	return Credential{}, nil, "", errSignatureMismatch()
}

// lookup finds the credential of an access key: InvalidAccessKeyId for
// an unknown one, a wrapped error for a KeyStore failure.
func (v *Verifier) lookup(ctx context.Context, accessKey string) (Credential, error) {
	if v.Keys == nil {
		return Credential{}, errors.New("sigv4: Verifier has no KeyStore")
	}
	cred, err := v.Keys.Lookup(ctx, accessKey)
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return Credential{}, errUnknownAccessKey()
		}
		return Credential{}, fmt.Errorf("sigv4: looking up access key: %w", err)
	}
	return cred, nil
}

// matchSignature compares in's signature against every canonical URI and
// payload hash candidate and returns the payload hash that matched.
func matchSignature(r *http.Request, in *authInput, key []byte) (string, bool) {
	if !isHexSHA256(in.signature) {
		return "", false
	}
	for _, uri := range canonicalURIs(r.URL, in.sc.service) {
		for _, ph := range in.payloadHashes {
			cr := canonicalRequest(r, uri, in.query, in.signedHeaders, in.signedList, ph)
			if sigEqual(signHex(key, stringToSign(in.amzDate, in.sc, cr)), in.signature) {
				return ph, true
			}
		}
	}
	return "", false
}

// deferred answers a header request whose signature covers the hash of a
// body too large to buffer: the key is looked up now, the signature is
// compared when Body reaches EOF (see Result.Deferred).
func (v *Verifier) deferred(ctx context.Context, r *http.Request, in *authInput, decoded int64) (*Result, error) {
	cred, err := v.lookup(ctx, in.sc.accessKey)
	if err != nil {
		return nil, err
	}
	key := v.signingKey(cred.Secret, in.sc)
	hr := newHashReader(r.Body, "")
	hr.verify = func(sum string) *Error {
		in.payloadHashes = []string{sum}
		if _, ok := matchSignature(r, in, key); !ok {
			return errSignatureMismatch()
		}
		return nil
	}
	return &Result{
		Credential: cred, Service: in.sc.service, Region: in.sc.region, Deferred: true,
		DecodedLength: decoded, Trailer: emptyTrailer, Body: hr,
	}, nil
}

// signingKey returns the derived key for secret and scope, from the cache
// when it is there.
func (v *Verifier) signingKey(secret string, sc scope) []byte {
	h := sha256.New()
	for _, s := range []string{secret, sc.date, sc.region, sc.service} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	var id [32]byte
	h.Sum(id[:0])
	v.mu.Lock()
	k, ok := v.cache[id]
	v.mu.Unlock()
	if ok {
		return k
	}
	k = deriveSigningKey(secret, sc.date, sc.region, sc.service)
	v.mu.Lock()
	if v.cache == nil || len(v.cache) >= signingKeyCacheSize {
		v.cache = make(map[[32]byte][]byte, 16)
	}
	v.cache[id] = k
	v.mu.Unlock()
	return k
}

// bufferedBody serves a body Verify had to read to hash it.
type bufferedBody struct {
	*bytes.Reader
	src io.Closer
}

func (b *bufferedBody) Close() error { return b.src.Close() }
