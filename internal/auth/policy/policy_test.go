package policy

import (
	"errors"
	"testing"
)

const bobID = "AIDBOBBOBBOBBOBBOBBO"

func mustParse(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), "pics")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestParseRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":         `{`,
		"no version":       `{"Statement":[]}`,
		"bad version":      `{"Version":"2020-01-01","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pics/*"}}`,
		"no statement":     `{"Version":"2012-10-17"}`,
		"bad effect":       `{"Version":"2012-10-17","Statement":{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pics/*"}}`,
		"unknown operator": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pics/*","Condition":{"StringSortOf":{"s3:prefix":"a"}}}}`,
		"bad cidr":         `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pics/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/99"}}}}`,
		"other bucket":     `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}}`,
		"unknown action":   `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:FlyAway","Resource":"arn:aws:s3:::pics/*"}}`,
		"ec2 action":       `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"ec2:RunInstances","Resource":"arn:aws:s3:::pics/*"}}`,
		"service princ":    `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"x"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pics/*"}}`,
		"both actions":     `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","NotAction":"s3:PutObject","Resource":"arn:aws:s3:::pics/*"}}`,
		"unknown field":    `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pics/*","Extra":1}}`,
		"dup sid":          `{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pics/*"},{"Sid":"a","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pics/*"}]}`,
	} {
		if _, err := Parse([]byte(doc), "pics"); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestEvaluate(t *testing.T) {
	p := mustParse(t, `{"Version":"2012-10-17","Statement":[
	 {"Sid":"pub","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pics/public/*"},
	 {"Sid":"bob","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::`+bobID+`:root"]},"Action":["s3:Get*","s3:PutObject","s3:ListBucket"],"Resource":["arn:aws:s3:::pics","arn:aws:s3:::pics/*"],
	  "Condition":{"StringLike":{"s3:prefix":["shared/*"]}}},
	 {"Sid":"lan","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pics/*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","127.0.0.1"]}}},
	 {"Sid":"tls","Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"arn:aws:s3:::pics/secret/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)
	local := map[string][]string{"aws:sourceip": {"127.0.0.1"}, "aws:securetransport": {"false"}}
	far := map[string][]string{"aws:sourceip": {"192.0.2.1"}}
	for _, c := range []struct {
		name string
		req  Request
		want Decision
	}{
		{"anon public", Request{"", "s3:GetObject", "arn:aws:s3:::pics/public/a", local}, Allowed},
		{"anon private", Request{"", "s3:GetObject", "arn:aws:s3:::pics/private/a", local}, NotApplicable},
		{"anon far", Request{"", "s3:GetObject", "arn:aws:s3:::pics/public/a", far}, Denied},
		{"bob get (no prefix key)", Request{bobID, "S3:GETOBJECT", "arn:aws:s3:::pics/x", local}, NotApplicable},
		{"bob list shared", Request{bobID, "s3:ListBucket", "arn:aws:s3:::pics", map[string][]string{"s3:prefix": {"shared/a"}}}, Allowed},
		{"bob list other", Request{bobID, "s3:ListBucket", "arn:aws:s3:::pics", map[string][]string{"s3:prefix": {"mine/"}}}, NotApplicable},
		{"carol list shared", Request{"AIDCAROL", "s3:ListBucket", "arn:aws:s3:::pics", map[string][]string{"s3:prefix": {"shared/a"}}}, NotApplicable},
		{"put secret plain", Request{bobID, "s3:PutObject", "arn:aws:s3:::pics/secret/k", local}, Denied},
		{"get secret plain", Request{"", "s3:GetObject", "arn:aws:s3:::pics/secret/k", local}, NotApplicable},
	} {
		if got := p.Evaluate(c.req); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if !p.IsPublic() {
		t.Error("IsPublic = false for a policy granting * GetObject")
	}
}

func TestConditionOperators(t *testing.T) {
	ctx := map[string][]string{"s3:prefix": {"Docs/"}, "aws:securetransport": {"true"}}
	for _, c := range []struct {
		cond string
		want bool
	}{
		{`{"StringEquals":{"s3:prefix":"Docs/"}}`, true},
		{`{"StringEquals":{"s3:prefix":"docs/"}}`, false},
		{`{"StringEqualsIgnoreCase":{"s3:prefix":"docs/"}}`, true},
		{`{"StringNotEquals":{"s3:prefix":["a","Docs/"]}}`, false},
		{`{"StringNotEquals":{"s3:delimiter":"/"}}`, true},
		{`{"StringEquals":{"s3:delimiter":"/"}}`, false},
		{`{"StringEqualsIfExists":{"s3:delimiter":"/"}}`, true},
		{`{"StringLike":{"s3:prefix":"D?cs*"}}`, true},
		{`{"StringNotLike":{"s3:prefix":"D*"}}`, false},
		{`{"Bool":{"aws:SecureTransport":true}}`, true},
		{`{"Null":{"s3:delimiter":"true"}}`, true},
		{`{"Null":{"s3:prefix":"true"}}`, false},
		{`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, false},
		{`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, true},
	} {
		p := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::pics","Condition":`+c.cond+`}}`)
		got := p.Evaluate(Request{"", "s3:ListBucket", "arn:aws:s3:::pics", ctx}) == Allowed
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.cond, got, c.want)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"a*", "abc", true}, {"a?c", "abc", true}, {"a?c", "ac", false},
		{"*b*", "abc", true}, {"*x", "abc", false}, {"a*b*c", "aXbYc", true}, {"a*b*c", "aXbY", false}, {"*", "*0", true}, {"a*", "a*", true}, {"*?", "", false}, {"**b", "ab", true},
	} {
		if got := Match(c.p, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.p, c.s, got)
		}
	}
}
