package sigv4

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// MaxPresignExpires is the longest validity a presigned URL may ask for
// (seven days, in seconds), as in S3.
const MaxPresignExpires = 604800

const presignRequiredMsg = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."

// presignParam returns the single value of a presign parameter; ok is false
// when it is missing, empty or repeated.
func presignParam(params map[string][]string, name string) (string, bool) {
	vs := params[name]
	if len(vs) != 1 || vs[0] == "" {
		return "", false
	}
	return vs[0], true
}

func (v *Verifier) verifyPresigned(ctx context.Context, r *http.Request, params map[string][]string) (*Result, error) {
	q, e := parsePresign(params)
	if e != nil {
		return nil, e
	}
	sc, detail := parseCredential(q.credential)
	if detail != "" {
		return nil, errQueryMalformed("Error parsing the X-Amz-Credential parameter; " + detail)
	}
	if sc.date != q.t.Format(scopeDateLayout) {
		return nil, errQueryMalformed("Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	if e := v.checkScope(sc, true); e != nil {
		return nil, e
	}
	signed, ok := splitSignedHeaders(q.signedList)
	if !ok {
		return nil, errQueryMalformed("X-Amz-SignedHeaders is malformed")
	}
	if e := checkSigned(r, signed); e != nil {
		return nil, e
	}
	now := v.now()
	if now.Before(q.t.Add(-v.maxSkew())) {
		return nil, errNotYetValid()
	}
	if now.After(q.t.Add(time.Duration(q.expires) * time.Second)) {
		return nil, errExpired()
	}
	in := authInput{
		sc: sc, signedHeaders: signed, signedList: q.signedList, signature: q.signature,
		amzDate: q.amzDate, query: canonicalQuery(r.URL.RawQuery, "X-Amz-Signature"),
	}
	if e := presignPayload(params, sc, &in); e != nil {
		return nil, e
	}
	cred, _, matched, err := v.check(ctx, r, &in)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Credential:    cred,
		Presigned:     true,
		Service:       sc.service,
		Region:        sc.region,
		PayloadHash:   matched,
		DecodedLength: r.ContentLength,
		Trailer:       emptyTrailer,
		Body:          r.Body,
	}
	if matched != unsignedPayload {
		res.Body = newHashReader(r.Body, matched)
	}
	return res, nil
}

// presignQuery is the X-Amz-* parameters of a presigned URL, parsed.
type presignQuery struct {
	credential, amzDate, signedList, signature string
	t                                          time.Time
	expires                                    int64
}

// parsePresign checks the algorithm and reads the required parameters.
func parsePresign(params map[string][]string) (presignQuery, *Error) {
	var q presignQuery
	alg, ok := presignParam(params, "X-Amz-Algorithm")
	if !ok {
		return q, errQueryMalformed(presignRequiredMsg)
	}
	switch alg {
	case algorithmHMAC:
	case algorithmECDSA:
		return q, errSigV4a()
	default:
		return q, errQueryMalformed(`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
	}
	var vals [5]string
	for i, name := range []string{"X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if vals[i], ok = presignParam(params, name); !ok {
			return q, errQueryMalformed(presignRequiredMsg)
		}
	}
	q.credential, q.amzDate, q.signedList, q.signature = vals[0], vals[1], vals[3], vals[4]
	var err error
	if q.t, err = time.Parse(amzDateLayout, q.amzDate); err != nil {
		return q, errQueryMalformed(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`)
	}
	q.expires, err = strconv.ParseInt(vals[2], 10, 64)
	switch {
	case err != nil:
		return q, errQueryMalformed("X-Amz-Expires should be a number")
	case q.expires < 1:
		return q, errQueryMalformed("X-Amz-Expires must be non-negative and at least one second")
	case q.expires > MaxPresignExpires:
		return q, errQueryMalformed("X-Amz-Expires must be less than a week (in seconds) that is; the given X-Amz-Expires must be less than 604800 seconds")
	}
	return q, nil
}

// presignPayload sets the payload hashes a presigned request's signature
// may cover: the X-Amz-Content-Sha256 parameter when given (a hex hash or
// UNSIGNED-PAYLOAD), else UNSIGNED-PAYLOAD.
func presignPayload(params map[string][]string, sc scope, in *authInput) *Error {
	ph, given := params["X-Amz-Content-Sha256"]
	if !given {
		in.payloadHashes = []string{unsignedPayload}
		if sc.service != "s3" {
			// Generic SigV4 presigning (STS, RDS tokens...) signs the hash
			// of the empty payload.
			in.payloadHashes = append(in.payloadHashes, emptySHA256)
		}
		return nil
	}
	if len(ph) != 1 {
		return errBadContentSHA256()
	}
	mode, perr := classifyPayload(ph[0])
	if perr != nil {
		return perr
	}
	if mode != payloadHex && mode != payloadUnsigned {
		return errBadContentSHA256()
	}
	in.payloadHashes = []string{ph[0]}
	return nil
}
