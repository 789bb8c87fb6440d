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
	alg, ok := presignParam(params, "X-Amz-Algorithm")
	if !ok {
		return nil, errQueryMalformed(presignRequiredMsg)
	}
	switch alg {
	case algorithmHMAC:
	case algorithmECDSA:
		return nil, errSigV4a()
	default:
		return nil, errQueryMalformed(`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
	}
	var vals [5]string
	for i, name := range []string{"X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if vals[i], ok = presignParam(params, name); !ok {
			return nil, errQueryMalformed(presignRequiredMsg)
		}
	}
	credential, amzDate, expiresStr, signedList, signature := vals[0], vals[1], vals[2], vals[3], vals[4]

	sc, detail := parseCredential(credential)
	if detail != "" {
		return nil, errQueryMalformed("Error parsing the X-Amz-Credential parameter; " + detail)
	}
	t, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return nil, errQueryMalformed(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`)
	}
	if sc.date != t.Format(scopeDateLayout) {
		return nil, errQueryMalformed("Invalid credential date. Date is not the same as X-Amz-Date.")
	}
	if e := v.checkScope(sc, true); e != nil {
		return nil, e
	}
	expires, err := strconv.ParseInt(expiresStr, 10, 64)
	switch {
	case err != nil:
		return nil, errQueryMalformed("X-Amz-Expires should be a number")
	case expires < 1:
		return nil, errQueryMalformed("X-Amz-Expires must be non-negative and at least one second")
	case expires > MaxPresignExpires:
		return nil, errQueryMalformed("X-Amz-Expires must be less than a week (in seconds) that is; the given X-Amz-Expires must be less than 604800 seconds")
	}
	signed, ok := splitSignedHeaders(signedList)
	if !ok {
		return nil, errQueryMalformed("X-Amz-SignedHeaders is malformed")
	}
	if e := checkSigned(r, signed); e != nil {
		return nil, e
	}
	now := v.now()
	if now.Before(t.Add(-v.maxSkew())) {
		return nil, errNotYetValid()
	}
	if now.After(t.Add(time.Duration(expires) * time.Second)) {
		return nil, errExpired()
	}

	in := authInput{
		sc: sc, signedHeaders: signed, signedList: signedList, signature: signature,
		amzDate: amzDate, query: canonicalQuery(r.URL.RawQuery, "X-Amz-Signature"),
	}
	var mode payloadMode
	if ph, given := params["X-Amz-Content-Sha256"]; given {
		if len(ph) != 1 {
			return nil, errBadContentSHA256()
		}
		var perr *Error
		mode, perr = classifyPayload(ph[0])
		if perr != nil {
			return nil, perr
		}
		if mode != payloadHex && mode != payloadUnsigned {
			return nil, errBadContentSHA256()
		}
		in.payloadHashes = []string{ph[0]}
	} else {
		mode = payloadUnsigned
		in.payloadHashes = []string{unsignedPayload}
		if sc.service != "s3" {
			// Generic SigV4 presigning (STS, RDS tokens...) signs the hash
			// of the empty payload.
			in.payloadHashes = append(in.payloadHashes, emptySHA256)
		}
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
