package policy

import (
	"encoding/json"
	"net/netip"
	"strings"
)

// Condition is one operator applied to one context key with its values:
// it holds when the request's values for Key satisfy Op against Values
// (any of Values for the positive operators, none of them for the
// negated ones).
type Condition struct {
	Op       string // canonical operator name without IfExists, e.g. "StringLike"
	IfExists bool   // ...IfExists: a missing key satisfies it
	Key      string // lower case, e.g. "aws:sourceip"
	Values   []string
	prefixes []netip.Prefix // IpAddress / NotIpAddress values
}

// operators maps a lower-case operator name to its canonical name.
var operators = map[string]string{
	"stringequals": "StringEquals", "stringnotequals": "StringNotEquals",
	"stringequalsignorecase": "StringEqualsIgnoreCase", "stringnotequalsignorecase": "StringNotEqualsIgnoreCase",
	"stringlike": "StringLike", "stringnotlike": "StringNotLike",
	"ipaddress": "IpAddress", "notipaddress": "NotIpAddress", "bool": "Bool", "null": "Null",
}

// negated are the operators that hold when no value matches (and when the
// key is missing, as in AWS).
var negated = map[string]bool{"StringNotEquals": true, "StringNotEqualsIgnoreCase": true, "StringNotLike": true, "NotIpAddress": true}

func parseConditions(raw map[string]map[string]json.RawMessage) ([]Condition, error) {
	var out []Condition
	for opName, keys := range raw {
		base, ifExists := strings.CutSuffix(opName, "IfExists")
		op, ok := operators[strings.ToLower(base)]
		if !ok || op != base {
			return nil, malformed("Invalid Condition type: %s", opName)
		}
		for key, rv := range keys {
			vals, err := conditionValues(rv)
			if err != nil || len(vals) == 0 {
				return nil, malformed("Invalid Condition value for %s %s", opName, key)
			}
			c := Condition{Op: op, IfExists: ifExists, Key: strings.ToLower(key), Values: vals}
			if err := c.compile(); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// conditionValues accepts a string, bool or number, or a list of them.
func conditionValues(raw json.RawMessage) ([]string, error) {
	var list []any
	if err := json.Unmarshal(raw, &list); err != nil {
		var one any
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, err
		}
		list = []any{one}
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case bool, float64:
			b, _ := json.Marshal(v)
			out = append(out, string(b))
		default:
			return nil, malformed("condition values must be strings")
		}
	}
	return out, nil
}

func (c *Condition) compile() error {
	switch c.Op {
	case "IpAddress", "NotIpAddress":
		for _, v := range c.Values {
			if err := checkCIDR(v); err != nil {
				return err
			}
			p, err := netip.ParsePrefix(v)
			if err != nil {
				a, _ := netip.ParseAddr(v)
				p = netip.PrefixFrom(a, a.BitLen())
			}
			c.prefixes = append(c.prefixes, p.Masked())
		}
	case "Bool", "Null":
		for _, v := range c.Values {
			if lv := strings.ToLower(v); lv != "true" && lv != "false" {
				return malformed("Invalid %s value: %q", c.Op, v)
			}
		}
	}
	return nil
}

// holds evaluates the condition against the request context.
func (c *Condition) holds(ctx map[string][]string) bool {
	got, present := ctx[c.Key]
	if c.Op == "Null" {
		want := strings.EqualFold(c.Values[0], "true")
		return want == !present
	}
	if !present {
		return c.IfExists || negated[c.Op]
	}
	any := false
	for _, g := range got {
		if c.matchOne(g) {
			any = true
			break
		}
	}
	if negated[c.Op] {
		return !any
	}
	return any
}

// matchOne reports whether one request value matches any condition value
// under the operator's positive form.
func (c *Condition) matchOne(got string) bool {
	switch c.Op {
	case "IpAddress", "NotIpAddress":
		a, err := netip.ParseAddr(got)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range c.prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	for _, v := range c.Values {
		switch c.Op {
		case "StringEquals", "StringNotEquals":
			if got == v {
				return true
			}
		case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "Bool":
			if strings.EqualFold(got, v) {
				return true
			}
		case "StringLike", "StringNotLike":
			if Match(v, got) {
				return true
			}
		}
	}
	return false
}
