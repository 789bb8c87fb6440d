package postpolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxDocument bounds a decoded policy document (S3 caps the form fields
// before the file, the policy among them, well below it).
const MaxDocument = 64 << 10

// Condition is one condition on a form field: Op is "eq" or
// "starts-with", Field the field's lower-case name without "$".
type Condition struct {
	Op, Field, Value string
}

// String renders c as S3 quotes it in an error.
func (c Condition) String() string {
	return fmt.Sprintf("[%q, %q, %q]", c.Op, "$"+c.Field, c.Value)
}

// Policy is a parsed policy document.
type Policy struct {
	Expiration time.Time
	Conditions []Condition
	// HasLength says a content-length-range condition was given; the
	// file must then be MinLength..MaxLength bytes long (inclusive).
	HasLength            bool
	MinLength, MaxLength int64
}

// Error is a refusal. Invalid says the document itself is unusable (S3
// answers 400 InvalidPolicyDocument); otherwise the form does not satisfy
// it (S3 answers 403 AccessDenied). Message is S3's wording.
type Error struct {
	Invalid bool
	Message string
}

func (e *Error) Error() string { return e.Message }

func invalid(format string, args ...any) *Error {
	return &Error{Invalid: true, Message: "Invalid Policy: " + fmt.Sprintf(format, args...)}
}

func denied(format string, args ...any) *Error {
	return &Error{Message: "Invalid according to Policy: " + fmt.Sprintf(format, args...)}
}

type document struct {
	Expiration *string           `json:"expiration"`
	Conditions []json.RawMessage `json:"conditions"`
}

// Parse decodes a policy document (the JSON, not its base64): an
// "expiration" in ISO 8601 and a "conditions" list whose entries are
// {"field": "value"} (exact match), ["eq", "$field", "value"],
// ["starts-with", "$field", "prefix"] or ["content-length-range", min, max].
func Parse(doc []byte) (*Policy, error) {
	if len(doc) > MaxDocument {
		return nil, invalid("Policy document too large.")
	}
	var d document
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return nil, invalid("Invalid JSON.")
	}
	if d.Expiration == nil {
		return nil, invalid("Policy missing expiration.")
	}
	exp, err := time.Parse(time.RFC3339Nano, *d.Expiration)
	if err != nil {
		return nil, invalid("Invalid 'expiration' value: '%s'", *d.Expiration)
	}
	p := &Policy{Expiration: exp}
	for _, raw := range d.Conditions {
		if err := p.addCondition(raw); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Policy) addCondition(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
			return invalid("Invalid Simple-Condition: value must be a string.")
		}
		for k, v := range m {
			p.Conditions = append(p.Conditions, Condition{Op: "eq", Field: strings.ToLower(strings.TrimPrefix(k, "$")), Value: v})
		}
		return nil
	}
	var list []any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&list); err != nil || len(list) != 3 {
		return invalid("Invalid Condition: a condition is an object or a list of three.")
	}
	op, _ := list[0].(string)
	switch op = strings.ToLower(op); op {
	case "content-length-range":
		return p.setLength(list[1], list[2])
	case "eq", "starts-with":
		field, ok1 := list[1].(string)
		value, ok2 := list[2].(string)
		if !ok1 || !ok2 || !strings.HasPrefix(field, "$") || len(field) < 2 {
			return invalid("Condition %q needs a \"$field\" and a string value.", op)
		}
		p.Conditions = append(p.Conditions, Condition{Op: op, Field: strings.ToLower(field[1:]), Value: value})
		return nil
	}
	return invalid("Invalid Condition: unknown operation %q.", list[0])
}

func (p *Policy) setLength(lo, hi any) error {
	minL, ok1 := length(lo)
	maxL, ok2 := length(hi)
	if !ok1 || !ok2 || minL > maxL {
		return invalid("Invalid content-length-range: expecting two non-negative integers, min <= max.")
	}
	p.HasLength, p.MinLength, p.MaxLength = true, minL, maxL
	return nil
}

// length reads a content-length-range bound: a JSON number or a numeric
// string holding a non-negative integer.
func length(v any) (int64, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n == math.MaxInt64 {
		return 0, false
	}
	return n, true
}
