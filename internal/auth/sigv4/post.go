package sigv4

import (
	"context"
	"net/http"
	"time"
)

// PostForm is the signature part of a browser upload (S3 POST Object):
// the form fields x-amz-algorithm, x-amz-credential, x-amz-date,
// x-amz-signature and policy (the base64 text the signature covers).
type PostForm struct {
	Algorithm, Credential, Date, Signature, Policy string
}

// VerifyPost authenticates a browser upload's form: the signature must
// be the hex HMAC-SHA256 of Policy under the key derived for the
// credential's scope, which must name this Verifier's region and service
// and the day of Date. It returns the credential that signed, or an
// *Error in S3 terms (InvalidArgument for a missing or malformed field,
// InvalidAccessKeyId, SignatureDoesNotMatch). The expiry of the form is
// the policy's, which the caller checks. Safe for concurrent use.
func (v *Verifier) VerifyPost(ctx context.Context, f PostForm) (Credential, error) {
	switch {
	case f.Algorithm == algorithmECDSA:
		return Credential{}, errSigV4a()
	case f.Algorithm != algorithmHMAC:
		return Credential{}, errPostField("x-amz-algorithm", `must be "AWS4-HMAC-SHA256"`)
	case f.Policy == "" || f.Signature == "":
		return Credential{}, errPostField("policy and x-amz-signature", "are required")
	}
	t, err := time.Parse(amzDateLayout, f.Date)
	if err != nil {
		return Credential{}, errPostField("x-amz-date", `must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`)
	}
	sc, detail := parseCredential(f.Credential)
	if detail != "" {
		return Credential{}, errPostField("x-amz-credential", detail)
	}
	if sc.date != t.Format(scopeDateLayout) {
		return Credential{}, errPostField("x-amz-credential", "names another date than x-amz-date")
	}
	if e := v.checkScope(sc, true); e != nil {
		return Credential{}, e
	}
	cred, err := v.lookup(ctx, sc.accessKey)
	if err != nil {
		return Credential{}, err
	}
	if !isHexSHA256(f.Signature) || !sigEqual(signHex(v.signingKey(cred.Secret, sc), f.Policy), f.Signature) {
		return Credential{}, errSignatureMismatch()
	}
	return cred, nil
}

func errPostField(field, msg string) *Error {
	return newErr(http.StatusBadRequest, codeInvalidArgument, "POST form field "+field+" "+msg)
}
