package ec2api

import (
	"reflect"
	"testing"
)

func TestParseLists(t *testing.T) {
	p, err := ParseQuery("Action=X&Filter.2.Name=tag%3Aenv&Filter.2.Value.1=a&Filter.2.Value.10=c&Filter.2.Value.2=b" +
		"&Filter.1.Name=key-name&Filter.1.Value.1=k*&InstanceId.3=i-3&InstanceId.1=i-1" +
		"&TagSpecification.1.ResourceType=key-pair&TagSpecification.1.Tag.1.Key=a&TagSpecification.1.Tag.1.Value=1" +
		"&TagSpecification.1.Tag.2.Key=b")
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.Filters()
	want := []Filter{{"key-name", []string{"k*"}}, {"tag:env", []string{"a", "b", "c"}}}
	if err != nil || !reflect.DeepEqual(f, want) {
		t.Fatalf("filters %+v %v", f, err)
	}
	ids, err := p.List("InstanceId")
	if err != nil || !reflect.DeepEqual(ids, []string{"i-1", "i-3"}) {
		t.Fatalf("ids %v %v", ids, err)
	}
	specs, err := p.TagSpecs()
	if err != nil || !reflect.DeepEqual(specs, []TagSpec{{"key-pair", []Tag{{"a", "1"}, {"b", ""}}}}) {
		t.Fatalf("specs %+v %v", specs, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ q, code string }{
		{"InstanceId.0=x", "InvalidParameterValue"},
		{"InstanceId.01=x", "InvalidParameterValue"},
		{"InstanceId.x=x", "InvalidParameterValue"},
		{"InstanceId.1000001=x", "InvalidParameterValue"},
		{"Filter.1.Value.1=x", "MissingParameter"},
		{"a=1&a=2", "InvalidParameterValue"},
		{"a=%zz", "MalformedQueryString"},
		{"MaxResults=4", "InvalidParameterValue"},
		{"MaxResults=x", "InvalidParameterValue"},
		{"NextToken=!!", "InvalidParameterValue"},
	} {
		p, err := ParseQuery(tc.q)
		if err == nil {
			_, err = p.List("InstanceId")
		}
		if err == nil {
			_, err = p.Filters()
		}
		if err == nil {
			_, err = p.page(5, 1000)
		}
		if !isCode(err, tc.code) {
			t.Errorf("%s: want %s, got %v", tc.q, tc.code, err)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		ok     bool
	}{
		{"abc", "abc", true}, {"a*", "abc", true}, {"*c", "abc", true}, {"a?c", "abc", true},
		{"a*b*c", "axxbyyc", true}, {"a*d", "abc", false}, {"*", "", true}, {"?", "", false},
		{"t3.*", "t3.micro", true}, {"a*a", "aXaXb", false},
	} {
		if got := match(tc.pat, tc.s); got != tc.ok {
			t.Errorf("match(%q, %q) = %v", tc.pat, tc.s, got)
		}
	}
}

func TestRules(t *testing.T) {
	p, _ := ParseQuery("IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=80&IpPermissions.1.ToPort=81" +
		"&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0&IpPermissions.1.IpRanges.2.CidrIp=10.0.0.0/8" +
		"&IpPermissions.2.IpProtocol=-1&IpPermissions.2.IpRanges.1.CidrIp=1.2.3.4/32")
	rules, err := p.Rules()
	want := []Rule{{"tcp", 80, 81, "0.0.0.0/0", ""}, {"tcp", 80, 81, "10.0.0.0/8", ""}, {"-1", -1, -1, "1.2.3.4/32", ""}}
	if err != nil || !reflect.DeepEqual(rules, want) {
		t.Fatalf("rules %+v %v", rules, err)
	}
	for _, q := range []string{
		"IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=81&IpPermissions.1.ToPort=80&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0",
		"IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=80&IpPermissions.1.ToPort=70000&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0",
		"IpPermissions.1.IpProtocol=gre&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0",
		"IpPermissions.1.IpProtocol=-1&IpPermissions.1.IpRanges.1.CidrIp=::/0",
		"IpPermissions.1.IpProtocol=-1",
	} {
		p, _ := ParseQuery(q)
		if _, err := p.Rules(); !isCode(err, "InvalidParameterValue") {
			t.Errorf("%s: %v", q, err)
		}
	}
}
