package policy

import "strings"

// Decision is what a policy says about one request.
type Decision int

// Decisions.
const (
	NotApplicable Decision = iota // no statement applies
	Allowed                       // an Allow statement applies and no Deny does
	Denied                        // a Deny statement applies: it wins over everything
)

// Request is what a policy is evaluated against.
type Request struct {
	// Principal is the caller's account id, or "" for the anonymous caller.
	Principal string
	// Action is the S3 action, e.g. "s3:GetObject" (any case).
	Action string
	// Resource is the ARN acted on: arn:aws:s3:::bucket or arn:aws:s3:::bucket/key.
	Resource string
	// Context holds the condition keys, lower case, e.g. "aws:sourceip".
	Context map[string][]string
}

// Evaluate returns Denied when any Deny statement applies to req, else
// Allowed when any Allow statement does, else NotApplicable. A nil
// Policy is NotApplicable.
func (p *Policy) Evaluate(req Request) Decision {
	if p == nil {
		return NotApplicable
	}
	action := strings.ToLower(req.Action)
	d := NotApplicable
	for i := range p.Statements {
		s := &p.Statements[i]
		if !s.applies(req, action) {
			continue
		}
		if s.Effect == Deny {
			return Denied
		}
		d = Allowed
	}
	return d
}

func (s *Statement) applies(req Request, action string) bool {
	if !s.principalMatches(req.Principal) || !matchesEither(s.Actions, s.NotActions, action) ||
		!matchesEither(s.Resources, s.NotResources, req.Resource) {
		return false
	}
	for i := range s.Conditions {
		if !s.Conditions[i].holds(req.Context) {
			return false
		}
	}
	return true
}

func (s *Statement) principalMatches(principal string) bool {
	in := func(list []string) bool {
		for _, p := range list {
			if p == AnyPrincipal || (principal != "" && p == principal) {
				return true
			}
		}
		return false
	}
	if s.Principals != nil {
		return in(s.Principals)
	}
	return !in(s.NotPrincipals)
}

// matchesEither: v matches one of list, or (with notList) none of notList.
func matchesEither(list, notList []string, v string) bool {
	if list != nil {
		return matchAny(list, v)
	}
	return !matchAny(notList, v)
}

func matchAny(patterns []string, v string) bool {
	for _, p := range patterns {
		if Match(p, v) {
			return true
		}
	}
	return false
}

// IsPublic reports whether the policy grants anything to every caller: an
// Allow statement whose principal includes "*" (or that uses
// NotPrincipal) and has no condition that pins the caller down
// (aws:SourceIp with IpAddress, aws:PrincipalAccount with StringEquals).
// PublicAccessBlock's BlockPublicPolicy and RestrictPublicBuckets use it.
func (p *Policy) IsPublic() bool {
	if p == nil {
		return false
	}
	for i := range p.Statements {
		s := &p.Statements[i]
		if s.Effect != Allow || (s.Principals != nil && !matchAny(s.Principals, AnyPrincipal)) {
			continue
		}
		if !s.pinned() {
			return true
		}
	}
	return false
}

func (s *Statement) pinned() bool {
	for _, c := range s.Conditions {
		if (c.Op == "IpAddress" && c.Key == "aws:sourceip") ||
			(c.Op == "StringEquals" && (c.Key == "aws:principalaccount" || c.Key == "aws:sourceaccount")) {
			return !c.IfExists
		}
	}
	return false
}
