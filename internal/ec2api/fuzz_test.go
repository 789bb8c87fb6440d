package ec2api

import (
	"testing"
)

// FuzzEC2Query feeds arbitrary query strings to the parser and every
// structured reader of it: none may panic, and every failure must be an
// *Error (a client error in EC2's format), never anything else.
func FuzzEC2Query(f *testing.F) {
	for _, s := range []string{
		"Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag:env&Filter.1.Value.1=a*",
		"InstanceId.1=i-1&InstanceId.2=i-2&MaxResults=5&NextToken=YWJj&DryRun=true",
		"TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v",
		"IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0",
		"Filter.99999.Value.1=%zz&Tag.1.Key=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		p, err := ParseQuery(q)
		if err != nil {
			mustBeClientError(t, err)
			return
		}
		_, err = p.Filters()
		mustBeClientError(t, err)
		_, err = p.List("InstanceId")
		mustBeClientError(t, err)
		_, err = p.TagSpecs()
		mustBeClientError(t, err)
		_, _, err = p.tagList("Tag")
		mustBeClientError(t, err)
		_, err = p.Rules()
		mustBeClientError(t, err)
		_, err = p.page(5, 1000)
		mustBeClientError(t, err)
		_, err = p.Bool("DryRun")
		mustBeClientError(t, err)
	})
}

func mustBeClientError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	e, ok := err.(*Error)
	if !ok || e.Status != 400 || e.Code == "" {
		t.Fatalf("not a client error: %#v", err)
	}
}
