package s3api

import (
	"net/http"
	"testing"
)

// FuzzAccessXML feeds arbitrary bodies to the PutBucketAcl/PutObjectAcl
// and PutPublicAccessBlock parsers: they never panic, an ACL body is
// either refused or one of the canned ACLs insitu keeps.
func FuzzAccessXML(f *testing.F) {
	f.Add([]byte(`<AccessControlPolicy><Owner><ID>x</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>`))
	f.Add([]byte(`<AccessControlPolicy><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>x</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>`))
	f.Add([]byte(`<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if name, err := aclFromXML(body); err == nil {
			if _, ok := cannedGrants[name]; !ok || name == "" {
				t.Fatalf("accepted ACL %q", name)
			}
		}
		_, _ = parsePublicAccessBlock(body)
		h := http.Header{}
		h.Set("x-amz-acl", string(body))
		if name, err := cannedACL(h); err == nil {
			if _, ok := cannedGrants[name]; !ok {
				t.Fatalf("accepted canned ACL %q", name)
			}
		}
	})
}
