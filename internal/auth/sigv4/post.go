package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"time"
)

// PostForm is the signature part of a browser upload (S3 POST Object):
// the form fields x-amz-algorithm, x-amz-credential, x-amz-date,
// x-amz-signature and policy (the base64 text the signature covers) of
// a SigV4 form; or AWSAccessKeyId, signature and policy of a SigV2 form
// (AccessKeyID set and Algorithm empty).
type PostForm struct {
	Algorithm, Credential, Date, Signature, Policy string
	AccessKeyID                                    string
}

// VerifyPost authenticates a browser upload's form: the signature must
// be the hex HMAC-SHA256 of Policy under the key derived for the
// credential's scope, which must name this Verifier's region and service
// and the day of Date. It returns the credential that signed, or an
// *Error in S3 terms (InvalidArgument for a missing or malformed field,
// InvalidAccessKeyId, SignatureDoesNotMatch). The expiry of the form is
// the policy's, which the caller checks. Safe for concurrent use.
//
// A SigV2 form (AccessKeyID set, no Algorithm) is verified as S3 and
// MinIO still accept it: its signature is the base64 HMAC-SHA1 of
// Policy under the secret key.
func (v *Verifier) VerifyPost(ctx context.Context, f PostForm) (Credential, error) {
	if f.Algorithm == "" && f.AccessKeyID != "" {
		return v.verifyPostV2(ctx, f)
	}
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

// verifyPostV2 checks a SigV2 form's signature over its policy.
func (v *Verifier) verifyPostV2(ctx context.Context, f PostForm) (Credential, error) {
	if f.Policy == "" || f.Signature == "" {
		return Credential{}, errPostField("policy and signature", "are required")
	}
	cred, err := v.lookup(ctx, f.AccessKeyID)
	if err != nil {
		return Credential{}, err
	}
	given, err := base64.StdEncoding.DecodeString(f.Signature)
	if err != nil || len(given) != sha1.Size {
		return Credential{}, errSignatureMismatch()
	}
	mac := hmac.New(sha1.New, []byte(cred.Secret))
	mac.Write([]byte(f.Policy))
	if !hmac.Equal(mac.Sum(nil), given) {
		return Credential{}, errSignatureMismatch()
	}
	return cred, nil
}
