package postpolicy

import (
	"sort"
	"strings"
	"time"
)

// ignored are the form fields no condition needs to name, as S3 ignores
// them: the signature (SigV4's x-amz-signature; SigV2's signature and
// AWSAccessKeyId), the file, the policy itself; and any field whose name
// starts with "x-ignore-".
var ignored = map[string]bool{"x-amz-signature": true, "signature": true, "awsaccesskeyid": true, "file": true, "policy": true}

// Check refuses a form the policy does not allow at now: an expired
// policy, a condition a field does not meet (a missing field has the
// value ""), or a field (other than the ignored ones) no condition names.
// fields maps lower-case field names to values, and must hold "bucket"
// (the bucket the form is posted to) and "key" after ${filename}
// substitution.
func (p *Policy) Check(now time.Time, fields map[string]string) error {
	if !now.Before(p.Expiration) {
		return denied("Policy expired.")
	}
	named := map[string]bool{}
	for _, c := range p.Conditions {
		named[c.Field] = true
		v := fields[c.Field]
		ok := v == c.Value
		if c.Op == "starts-with" {
			ok = startsWith(c.Field, v, c.Value)
		}
		if !ok {
			return denied("Policy Condition failed: %s", c)
		}
	}
	var extra []string
	for f := range fields {
		if !named[f] && !ignored[f] && !strings.HasPrefix(f, "x-ignore-") && f != "bucket" {
			extra = append(extra, f)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return denied("Extra input fields: %s", strings.Join(extra, ", "))
	}
	return nil
}

// startsWith applies a starts-with condition; for Content-Type, as in S3,
// every one of a comma-separated list of types must start with prefix.
func startsWith(field, v, prefix string) bool {
	if field != "content-type" {
		return strings.HasPrefix(v, prefix)
	}
	for _, t := range strings.Split(v, ",") {
		if !strings.HasPrefix(strings.TrimSpace(t), prefix) {
			return false
		}
	}
	return true
}
