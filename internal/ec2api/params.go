package ec2api

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Limits of the query parser, so a hostile request cannot make it work
// without end: at most maxParams parameters, list indexes 1..maxIndex.
const (
	maxParams = 4096
	maxIndex  = 100000
)

// Params are one request's parameters (first value of each name).
type Params map[string]string

// ParseQuery parses a form-encoded body or URL query into Params,
// refusing malformed encodings, repeated names and too many parameters.
func ParseQuery(raw string) (Params, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, badRequest("MalformedQueryString", "The query string is malformed: %v", err)
	}
	if len(v) > maxParams {
		return nil, errInvalid("The request has more than %d parameters.", maxParams)
	}
	p := make(Params, len(v))
	for k, vs := range v {
		if len(vs) > 1 {
			return nil, errInvalid("The parameter %s is given more than once.", k)
		}
		p[k] = vs[0]
	}
	return p, nil
}

// merge adds q's parameters to p; a name in both must have one value.
func (p Params) merge(q Params) error {
	for k, v := range q {
		if old, ok := p[k]; ok && old != v {
			return errInvalid("The parameter %s is given more than once.", k)
		}
		p[k] = v
	}
	return nil
}

// Indexes returns, in numeric order, the N of every parameter named
// prefix.N or prefix.N.*, so "Filter" finds Filter.1.Name and
// Filter.2.Value.1. N must be a positive decimal without leading zeros.
func (p Params) Indexes(prefix string) ([]int, error) {
	seen := map[int]bool{}
	for k := range p {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(n)
		if err != nil || i < 1 || i > maxIndex || n != strconv.Itoa(i) {
			return nil, errInvalid("The parameter %s has an invalid index %q.", prefix, n)
		}
		seen[i] = true
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out, nil
}

// List returns the values of prefix.1, prefix.2, ... in index order.
func (p Params) List(prefix string) ([]string, error) {
	idx, err := p.Indexes(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		v, ok := p[prefix+"."+strconv.Itoa(i)]
		if !ok {
			return nil, errInvalid("The parameter %s.%d has no value.", prefix, i)
		}
		out = append(out, v)
	}
	return out, nil
}

// Required returns the parameter name, or MissingParameter when absent
// or empty.
func (p Params) Required(name string) (string, error) {
	v := p[name]
	if v == "" {
		return "", errMissing(name)
	}
	return v, nil
}

// Bool parses a true/false parameter; absent is false.
func (p Params) Bool(name string) (bool, error) {
	switch v, ok := p[name]; {
	case !ok || v == "false":
		return false, nil
	case v == "true":
		return true, nil
	default:
		return false, errInvalid("Value (%s) for parameter %s is invalid. Expected: 'true' or 'false'.", v, name)
	}
}

// Int parses an integer parameter in [lo, hi]; absent returns def.
func (p Params) Int(name string, def, lo, hi int) (int, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < lo || i > hi {
		return 0, errInvalid("Value (%s) for parameter %s is invalid. Expected an integer from %d to %d.", v, name, lo, hi)
	}
	return i, nil
}
