package policy

import (
	"errors"
	"testing"
)

// FuzzParse: any input parses or fails with ErrMalformed, and a parsed
// policy evaluates any request without panicking, a Deny never turning
// into Allowed when re-evaluated.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pics/*"}}`), "pics/a", "s3:GetObject")
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"d","Effect":"Deny","NotPrincipal":{"AWS":["root"]},"NotAction":"s3:List*","NotResource":"arn:aws:s3:::pics/x?","Condition":{"IpAddressIfExists":{"aws:SourceIp":["::1/128","10.0.0.1"]},"Null":{"s3:prefix":true}}}]}`), "pics", "s3:ListBucket")
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::AIDX:root"},"Action":"*","Resource":"arn:aws:s3:::pics*","Condition":{"StringLike":{"s3:prefix":["a*","*b"]},"Bool":{"aws:SecureTransport":"false"}}}}`), "pics/ab", "s3:PutObject")
	f.Fuzz(func(t *testing.T, doc []byte, key, action string) {
		p, err := Parse(doc, "pics")
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		ctx := map[string][]string{"aws:sourceip": {"10.0.0.1"}, "s3:prefix": {key}, "aws:securetransport": {"false"}}
		for _, who := range []string{"", "root", "AIDX"} {
			req := Request{Principal: who, Action: action, Resource: "arn:aws:s3:::" + key, Context: ctx}
			if a, b := p.Evaluate(req), p.Evaluate(req); a != b {
				t.Fatalf("evaluation not deterministic: %v then %v", a, b)
			}
		}
		_ = p.IsPublic()
	})
}

// FuzzMatch: Match terminates and agrees with the trivial cases.
func FuzzMatch(f *testing.F) {
	f.Add("a*b?c", "aXbYc")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if Match(pattern, s) != Match(pattern, s) {
			t.Fatal("not deterministic")
		}
		if !Match(s, s) && !containsWild(s) {
			t.Fatalf("%q does not match itself", s)
		}
		if !Match("*", s) {
			t.Fatalf("* does not match %q", s)
		}
	})
}

func containsWild(s string) bool {
	for _, c := range s {
		if c == '*' || c == '?' {
			return true
		}
	}
	return false
}

// FuzzEvaluate evaluates arbitrary requests (principal, action, resource,
// source address, prefix) against a policy using every operator: it never
// panics, and a request the unconditional Deny names is always Denied.
func FuzzEvaluate(f *testing.F) {
	doc := []byte(`{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":"*","Action":["s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::pics","arn:aws:s3:::pics/*"],
	  "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]},"StringLike":{"s3:prefix":["a*","?b"]},"StringNotEqualsIfExists":{"s3:delimiter":"/"}}},
	 {"Effect":"Allow","NotPrincipal":{"AWS":"root"},"NotAction":"s3:Delete*","NotResource":"arn:aws:s3:::pics/private/*",
	  "Condition":{"Bool":{"aws:SecureTransport":"true"},"Null":{"aws:principalaccount":"false"},"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}},
	 {"Effect":"Deny","Principal":{"AWS":"AIDEVIL"},"Action":"s3:*","Resource":["arn:aws:s3:::pics","arn:aws:s3:::pics/*"]}]}`)
	p, err := Parse(doc, "pics")
	if err != nil {
		f.Fatal(err)
	}
	f.Add("AIDEVIL", "s3:GetObject", "pics/a", "10.1.2.3", "ab", true)
	f.Add("", "s3:ListBucket", "pics", "::1", "a", false)
	f.Add("root", "s3:PutObject", "pics/private/x", "192.0.2.9", "", true)
	f.Fuzz(func(t *testing.T, who, action, resource, ip, prefix string, tls bool) {
		ctx := map[string][]string{"aws:sourceip": {ip}, "s3:prefix": {prefix}, "aws:securetransport": {map[bool]string{true: "true", false: "false"}[tls]}}
		if who != "" {
			ctx["aws:principalaccount"] = []string{who}
		}
		req := Request{Principal: who, Action: action, Resource: "arn:aws:s3:::" + resource, Context: ctx}
		d := p.Evaluate(req)
		if who == "AIDEVIL" && Match("s3:*", toLower(action)) && (resource == "pics" || Match("pics/*", resource)) && d != Denied {
			t.Fatalf("%+v: %v, but the Deny names it", req, d)
		}
	})
}
