package ec2api

import (
	"strconv"
	"strings"
)

// Filter is one Filter.N: a name and the values any of which may match
// (EC2 wildcards: * any run, ? one character).
type Filter struct {
	Name   string
	Values []string
}

// Filters parses Filter.N.Name / Filter.N.Value.M.
func (p Params) Filters() ([]Filter, error) {
	idx, err := p.Indexes("Filter")
	if err != nil {
		return nil, err
	}
	out := make([]Filter, 0, len(idx))
	for _, i := range idx {
		pre := "Filter." + strconv.Itoa(i)
		name, err := p.Required(pre + ".Name")
		if err != nil {
			return nil, err
		}
		vals, err := p.List(pre + ".Value")
		if err != nil {
			return nil, err
		}
		out = append(out, Filter{Name: name, Values: vals})
	}
	return out, nil
}

// Tag is one key and value.
type Tag struct {
	Key   string `json:"k" xml:"key"`
	Value string `json:"v" xml:"value"`
}

// TagSpec is one TagSpecification.N.
type TagSpec struct {
	ResourceType string
	Tags         []Tag
}

// tagList parses PREFIX.N.Key / PREFIX.N.Value; an absent value is empty,
// and hasValue[i] tells it from an empty one (DeleteTags: any value).
func (p Params) tagList(prefix string) ([]Tag, []bool, error) {
	idx, err := p.Indexes(prefix)
	if err != nil {
		return nil, nil, err
	}
	tags := make([]Tag, 0, len(idx))
	hasValue := make([]bool, 0, len(idx))
	for _, i := range idx {
		pre := prefix + "." + strconv.Itoa(i)
		k, err := p.Required(pre + ".Key")
		if err != nil {
			return nil, nil, err
		}
		v, ok := p[pre+".Value"]
		tags = append(tags, Tag{Key: k, Value: v})
		hasValue = append(hasValue, ok)
	}
	return tags, hasValue, nil
}

// TagSpecs parses TagSpecification.N.ResourceType / .Tag.M.Key / .Value.
func (p Params) TagSpecs() ([]TagSpec, error) {
	idx, err := p.Indexes("TagSpecification")
	if err != nil {
		return nil, err
	}
	out := make([]TagSpec, 0, len(idx))
	for _, i := range idx {
		pre := "TagSpecification." + strconv.Itoa(i)
		rt, err := p.Required(pre + ".ResourceType")
		if err != nil {
			return nil, err
		}
		tags, _, err := p.tagList(pre + ".Tag")
		if err != nil {
			return nil, err
		}
		out = append(out, TagSpec{ResourceType: rt, Tags: tags})
	}
	return out, nil
}

// match reports whether s matches an EC2 filter value with * and ?.
func match(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	pr, sr := []rune(pattern), []rune(s)
	// Iterative glob with one backtrack point (the last *).
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(sr) {
		switch {
		case pi < len(pr) && (pr[pi] == '?' || pr[pi] == sr[si]):
			pi++
			si++
		case pi < len(pr) && pr[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(pr) && pr[pi] == '*' {
		pi++
	}
	return pi == len(pr)
}

// matchAny reports whether any of values matches s.
func matchAny(values []string, s string) bool {
	for _, v := range values {
		if match(v, s) {
			return true
		}
	}
	return false
}

// fields gives the values a resource has for a filter name, and whether
// the name is known for that resource type.
type fields func(name string) ([]string, bool)

// knownFilters refuses a filter name the resource type does not have
// (checked on a zero resource, so it holds when nothing is listed).
func knownFilters(filters []Filter, f fields) error {
	for _, flt := range filters {
		if strings.HasPrefix(flt.Name, "tag:") || flt.Name == "tag-key" {
			continue
		}
		if _, ok := f(flt.Name); !ok {
			return errInvalid("The filter '%s' is invalid", flt.Name)
		}
	}
	return nil
}

// applies checks every filter against a resource: each filter must match
// one of the resource's values for it; tag:KEY and tag-key filters use
// tags. An unknown filter name is InvalidParameterValue.
func applies(filters []Filter, f fields, tags map[string]string) (bool, error) {
	for _, flt := range filters {
		var vals []string
		switch {
		case strings.HasPrefix(flt.Name, "tag:"):
			if v, ok := tags[strings.TrimPrefix(flt.Name, "tag:")]; ok {
				vals = []string{v}
			}
		case flt.Name == "tag-key":
			for k := range tags {
				vals = append(vals, k)
			}
		default:
			var ok bool
			if vals, ok = f(flt.Name); !ok {
				return false, errInvalid("The filter '%s' is invalid", flt.Name)
			}
		}
		hit := false
		for _, v := range vals {
			if matchAny(flt.Values, v) {
				hit = true
				break
			}
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}
