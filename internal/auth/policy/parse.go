package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrMalformed wraps every reason Parse refuses a document; S3 answers it
// as MalformedPolicy (400) with the wrapped message.
var ErrMalformed = errors.New("policy: malformed")

// MaxSize is the largest policy document Parse accepts (S3's limit, 20 KiB).
const MaxSize = 20 << 10

// AnyPrincipal is the principal "*": every account and the anonymous caller.
const AnyPrincipal = "*"

// Effect is Allow or Deny.
type Effect bool

// Effects.
const (
	Deny  Effect = false
	Allow Effect = true
)

// Policy is a parsed bucket policy.
type Policy struct {
	ID         string
	Statements []Statement
}

// Statement is one statement of a policy. Exactly one of Principals and
// NotPrincipals is set, one of Actions and NotActions, one of Resources
// and NotResources. Principals hold account ids or AnyPrincipal; actions
// are lower case patterns; resources are ARN patterns.
type Statement struct {
	Sid           string
	Effect        Effect
	Principals    []string
	NotPrincipals []string
	Actions       []string
	NotActions    []string
	Resources     []string
	NotResources  []string
	Conditions    []Condition
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// rawPolicy and rawStatement are the JSON as written; every value that
// may be a string or a list is kept raw and decoded by strings().
type rawPolicy struct {
	Version   string          `json:"Version"`
	ID        string          `json:"Id"`
	Statement json.RawMessage `json:"Statement"`
}

type rawStatement struct {
	Sid          string                                `json:"Sid"`
	Effect       string                                `json:"Effect"`
	Principal    json.RawMessage                       `json:"Principal"`
	NotPrincipal json.RawMessage                       `json:"NotPrincipal"`
	Action       json.RawMessage                       `json:"Action"`
	NotAction    json.RawMessage                       `json:"NotAction"`
	Resource     json.RawMessage                       `json:"Resource"`
	NotResource  json.RawMessage                       `json:"NotResource"`
	Condition    map[string]map[string]json.RawMessage `json:"Condition"`
}

// Parse parses doc as a policy of bucket: every Resource must name bucket
// or objects in it. Errors wrap ErrMalformed.
func Parse(doc []byte, bucket string) (*Policy, error) {
	if len(doc) > MaxSize {
		return nil, malformed("Policies must be no more than %d bytes", MaxSize)
	}
	var raw rawPolicy
	if err := strictDecode(doc, &raw); err != nil {
		return nil, malformed("This policy contains invalid Json: %v", err)
	}
	if raw.Version != "2012-10-17" && raw.Version != "2008-10-17" {
		return nil, malformed("The policy must contain a valid version string")
	}
	var stmts []rawStatement
	if err := oneOrMany(raw.Statement, &stmts); err != nil || len(stmts) == 0 {
		return nil, malformed("Missing required field Statement")
	}
	p := &Policy{ID: raw.ID}
	sids := map[string]bool{}
	for i := range stmts {
		s, err := parseStatement(&stmts[i], bucket)
		if err != nil {
			return nil, err
		}
		if s.Sid != "" && sids[s.Sid] {
			return nil, malformed("Statement IDs (SID) in a single policy must be unique")
		}
		sids[s.Sid] = true
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

// strictDecode decodes one JSON value with no unknown fields and nothing after it.
func strictDecode(doc []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the policy")
	}
	return nil
}

// oneOrMany decodes a JSON object or array of objects into out.
func oneOrMany(raw json.RawMessage, out *[]rawStatement) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var one rawStatement
		if err := strictDecode(raw, &one); err != nil {
			return err
		}
		*out = []rawStatement{one}
		return nil
	}
	return strictDecode(raw, out)
}

// strings decodes a JSON string or array of strings; absent is nil.
func stringList(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return []string{s}, err
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("empty list")
	}
	return list, nil
}

func parseStatement(r *rawStatement, bucket string) (Statement, error) {
	s := Statement{Sid: r.Sid}
	switch r.Effect {
	case "Allow":
		s.Effect = Allow
	case "Deny":
		s.Effect = Deny
	default:
		return s, malformed("Invalid effect: %q", r.Effect)
	}
	var err error
	if s.Principals, s.NotPrincipals, err = parsePrincipals(r.Principal, r.NotPrincipal); err != nil {
		return s, err
	}
	if s.Actions, s.NotActions, err = parseActions(r.Action, r.NotAction); err != nil {
		return s, err
	}
	if s.Resources, s.NotResources, err = parseResources(r.Resource, r.NotResource, bucket); err != nil {
		return s, err
	}
	if s.Conditions, err = parseConditions(r.Condition); err != nil {
		return s, err
	}
	return s, nil
}

// exactlyOne decodes whichever of a and b is present; both or neither is an error.
func exactlyOne(a, b json.RawMessage, what string) (as, bs []string, err error) {
	if (len(a) == 0) == (len(b) == 0) {
		return nil, nil, malformed("Each statement must have exactly one of %s and Not%s", what, what)
	}
	if as, err = stringList(a); err == nil {
		bs, err = stringList(b)
	}
	if err != nil {
		return nil, nil, malformed("Invalid %s: %v", what, err)
	}
	return as, bs, nil
}

func parsePrincipals(p, np json.RawMessage) ([]string, []string, error) {
	if (len(p) == 0) == (len(np) == 0) {
		return nil, nil, malformed("Each statement must have exactly one of Principal and NotPrincipal")
	}
	raw := p
	if len(raw) == 0 {
		raw = np
	}
	ids, err := principalIDs(raw)
	if err != nil {
		return nil, nil, err
	}
	if len(p) > 0 {
		return ids, nil, nil
	}
	return nil, ids, nil
}

// principalIDs reads "*" or {"AWS": one or many} into account ids.
func principalIDs(raw json.RawMessage) ([]string, error) {
	if s := bytes.TrimSpace(raw); len(s) > 0 && s[0] == '"' {
		var v string
		if json.Unmarshal(s, &v) != nil || v != AnyPrincipal {
			return nil, malformed("Invalid principal in policy")
		}
		return []string{AnyPrincipal}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) != 1 || m["AWS"] == nil {
		return nil, malformed("Invalid principal in policy: only \"*\" and {\"AWS\": ...} are supported")
	}
	list, err := stringList(m["AWS"])
	if err != nil || len(list) == 0 {
		return nil, malformed("Invalid principal in policy")
	}
	ids := make([]string, 0, len(list))
	for _, v := range list {
		id, ok := AccountOf(v)
		if !ok {
			return nil, malformed("Invalid principal in policy: %q", v)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// AccountOf returns the account id a principal names: "*", an account id,
// or an account ARN arn:aws:iam::ID:root.
func AccountOf(v string) (string, bool) {
	if v == AnyPrincipal {
		return v, true
	}
	if rest, ok := strings.CutPrefix(v, "arn:aws:iam::"); ok {
		id, ok := strings.CutSuffix(rest, ":root")
		return id, ok && validID(id)
	}
	return v, validID(v)
}

// validID accepts what auth hands out as ids: AID..., "root", and names
// kept as ids by migration (lower case letters, digits, '-', '_', '.').
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func parseActions(a, na json.RawMessage) ([]string, []string, error) {
	as, nas, err := exactlyOne(a, na, "Action")
	if err != nil {
		return nil, nil, err
	}
	for _, list := range [][]string{as, nas} {
		for i, v := range list {
			lv := strings.ToLower(v)
			if !knownActionPattern(lv) {
				return nil, nil, malformed("Policy has invalid action: %q", v)
			}
			list[i] = lv
		}
	}
	return as, nas, nil
}

func parseResources(r, nr json.RawMessage, bucket string) ([]string, []string, error) {
	rs, nrs, err := exactlyOne(r, nr, "Resource")
	if err != nil {
		return nil, nil, err
	}
	for _, list := range [][]string{rs, nrs} {
		for _, v := range list {
			rest, ok := strings.CutPrefix(v, "arn:aws:s3:::")
			b, _, _ := strings.Cut(rest, "/")
			if !ok || b != bucket {
				return nil, nil, malformed("Policy has invalid resource: %q (resources must be arn:aws:s3:::%s or under it)", v, bucket)
			}
		}
	}
	return rs, nrs, nil
}

// checkCIDR validates an IpAddress value.
func checkCIDR(v string) error {
	if _, err := netip.ParsePrefix(v); err == nil {
		return nil
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return nil
	}
	return malformed("Invalid IP address or CIDR: %q", v)
}
