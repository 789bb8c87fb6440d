package policy

import "strings"

// Actions are the S3 actions a policy may name (lower case). Patterns
// with wildcards must match at least one of them.
var knownActions = []string{
	"s3:abortmultipartupload", "s3:createbucket", "s3:deletebucket", "s3:deletebucketpolicy",
	"s3:deleteobject", "s3:deleteobjectversion", "s3:getbucketacl", "s3:getbucketcors",
	"s3:getbucketlocation", "s3:getbucketpolicy", "s3:getbucketpolicystatus",
	"s3:getbucketpublicaccessblock", "s3:getbuckettagging", "s3:getbucketversioning",
	"s3:getbucketwebsite", "s3:getencryptionconfiguration", "s3:getlifecycleconfiguration",
	"s3:getobject", "s3:getobjectacl", "s3:getobjectattributes", "s3:getobjecttagging",
	"s3:getobjectversion", "s3:listallmybuckets", "s3:listbucket", "s3:listbucketmultipartuploads",
	"s3:listbucketversions", "s3:listmultipartuploadparts", "s3:putbucketacl", "s3:putbucketcors",
	"s3:putbucketpolicy", "s3:putbucketpublicaccessblock", "s3:putbuckettagging",
	"s3:putbucketversioning", "s3:putlifecycleconfiguration", "s3:putobject", "s3:putobjectacl",
	"s3:putobjecttagging", "s3:getbucketobjectlockconfiguration",
	"s3:putbucketobjectlockconfiguration", "s3:putobjectretention", "s3:getobjectretention",
	"s3:putobjectlegalhold", "s3:getobjectlegalhold", "s3:bypassgovernanceretention",
}

// knownActionPattern reports whether the lower-case pattern p is "*" or
// an s3: pattern matching at least one known action.
func knownActionPattern(p string) bool {
	if p == "*" {
		return true
	}
	if !strings.HasPrefix(p, "s3:") {
		return false
	}
	for _, a := range knownActions {
		if Match(p, a) {
			return true
		}
	}
	return false
}

// Match reports whether s matches pattern, where '*' matches any run of
// characters (also none) and '?' any one character. It runs in
// O(len(pattern)*len(s)) time at worst, so a hostile pattern cannot make
// it slow.
func Match(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
