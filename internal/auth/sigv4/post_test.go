package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

// postSign signs policy as a browser-upload form does, computed here
// step by step from the documented key derivation.
func postSign(secret, date, region, policy string) string {
	mac := func(k []byte, s string) []byte { h := hmac.New(sha256.New, k); h.Write([]byte(s)); return h.Sum(nil) }
	k := mac(mac(mac(mac([]byte("AWS4"+secret), date), region), "s3"), "aws4_request")
	return hex.EncodeToString(mac(k, policy))
}

func TestVerifyPost(t *testing.T) {
	v := exampleVerifier(exampleTime)
	v.Region = "us-east-1"
	policy := "eyJleHBpcmF0aW9uIjoiMjAxMy0wNS0yNFQwMTowMDowMFoiLCJjb25kaXRpb25zIjpbXX0="
	good := PostForm{Algorithm: "AWS4-HMAC-SHA256", Credential: exampleAccessKey + "/20130524/us-east-1/s3/aws4_request",
		Date: "20130524T000000Z", Policy: policy, Signature: postSign(exampleSecret, "20130524", "us-east-1", policy)}
	cred, err := v.VerifyPost(context.Background(), good)
	if err != nil || cred.AccessKey != exampleAccessKey {
		t.Fatalf("good form: %+v %v", cred, err)
	}
	for _, tc := range []struct {
		name string
		edit func(*PostForm)
		code string
	}{
		{"signature", func(f *PostForm) { f.Signature = postSign("wrong", "20130524", "us-east-1", policy) }, "SignatureDoesNotMatch"},
		{"policy changed", func(f *PostForm) { f.Policy = "e30=" }, "SignatureDoesNotMatch"},
		{"short signature", func(f *PostForm) { f.Signature = "abcd" }, "SignatureDoesNotMatch"},
		{"unknown key", func(f *PostForm) { f.Credential = "NOPE/20130524/us-east-1/s3/aws4_request" }, "InvalidAccessKeyId"},
		{"other day", func(f *PostForm) { f.Date = "20130525T000000Z" }, "InvalidArgument"},
		{"bad date", func(f *PostForm) { f.Date = "yesterday" }, "InvalidArgument"},
		{"region", func(f *PostForm) { f.Credential = exampleAccessKey + "/20130524/eu-west-1/s3/aws4_request" }, "AuthorizationQueryParametersError"},
		{"malformed credential", func(f *PostForm) { f.Credential = exampleAccessKey }, "InvalidArgument"},
		{"algorithm", func(f *PostForm) { f.Algorithm = "AWS4-HMAC-SHA1" }, "InvalidArgument"},
		{"sigv4a", func(f *PostForm) { f.Algorithm = "AWS4-ECDSA-P256-SHA256" }, "NotImplemented"},
		{"no policy", func(f *PostForm) { f.Policy = "" }, "InvalidArgument"},
	} {
		f := good
		tc.edit(&f)
		if _, err := v.VerifyPost(context.Background(), f); errCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
}

// TestVerifyPostV2: a SigV2 form's signature is the base64 HMAC-SHA1 of
// the policy under the secret key.
func TestVerifyPostV2(t *testing.T) {
	v := exampleVerifier(exampleTime)
	policy := "eyJleHBpcmF0aW9uIjoiMjAxMy0wNS0yNFQwMTowMDowMFoiLCJjb25kaXRpb25zIjpbXX0="
	sign := func(secret, policy string) string {
		h := hmac.New(sha1.New, []byte(secret))
		h.Write([]byte(policy))
		return base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	good := PostForm{AccessKeyID: exampleAccessKey, Policy: policy, Signature: sign(exampleSecret, policy)}
	cred, err := v.VerifyPost(context.Background(), good)
	if err != nil || cred.AccessKey != exampleAccessKey {
		t.Fatalf("good form: %+v %v", cred, err)
	}
	for _, tc := range []struct {
		name string
		edit func(*PostForm)
		code string
	}{
		{"signature", func(f *PostForm) { f.Signature = sign("wrong", policy) }, "SignatureDoesNotMatch"},
		{"policy changed", func(f *PostForm) { f.Policy = "e30=" }, "SignatureDoesNotMatch"},
		{"not base64", func(f *PostForm) { f.Signature = "@@@" }, "SignatureDoesNotMatch"},
		{"short signature", func(f *PostForm) { f.Signature = "YWJjZA==" }, "SignatureDoesNotMatch"},
		{"unknown key", func(f *PostForm) { f.AccessKeyID = "NOPE" }, "InvalidAccessKeyId"},
		{"no policy", func(f *PostForm) { f.Policy = "" }, "InvalidArgument"},
		{"no signature", func(f *PostForm) { f.Signature = "" }, "InvalidArgument"},
		{"v4 algorithm with a v2 key", func(f *PostForm) { f.Algorithm = "AWS4-HMAC-SHA256" }, "InvalidArgument"},
	} {
		f := good
		tc.edit(&f)
		if _, err := v.VerifyPost(context.Background(), f); errCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
}
