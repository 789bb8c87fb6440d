package s3api

import (
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/insitu-cloud/insitu/internal/lifecycle"
)

// A bucket's lifecycle configuration (PutBucketLifecycleConfiguration) in
// AWS's XML, validated as S3 validates it and stored in meta as
// lifecycle.Rules (lifecycle_store.go); the node's lifecycle.Runner
// applies it.

const (
	maxLifecycleRules = 1000
	maxLifecycleBody  = 1 << 20
	maxLifecycleID    = 255
)

type lifecycleConfiguration struct {
	XMLName xml.Name        `xml:"LifecycleConfiguration"`
	NS      string          `xml:"xmlns,attr,omitempty"`
	Rules   []lifecycleRule `xml:"Rule"`
}

type lifecycleRule struct {
	ID         string           `xml:"ID,omitempty"`
	Status     string           `xml:"Status"`
	Prefix     *string          `xml:"Prefix"` // the deprecated form of Filter
	Filter     *lifecycleFilter `xml:"Filter"`
	Expiration *struct {
		Days                      *int    `xml:"Days"`
		Date                      *string `xml:"Date"`
		ExpiredObjectDeleteMarker *bool   `xml:"ExpiredObjectDeleteMarker"`
	} `xml:"Expiration"`
	NoncurrentVersionExpiration *struct {
		NoncurrentDays          *int `xml:"NoncurrentDays"`
		NewerNoncurrentVersions *int `xml:"NewerNoncurrentVersions"`
	} `xml:"NoncurrentVersionExpiration"`
	AbortIncompleteMultipartUpload *struct {
		DaysAfterInitiation *int `xml:"DaysAfterInitiation"`
	} `xml:"AbortIncompleteMultipartUpload"`
	Transitions           []struct{} `xml:"Transition"`
	NoncurrentTransitions []struct{} `xml:"NoncurrentVersionTransition"`
}

type lifecycleFilter struct {
	Prefix      *string             `xml:"Prefix"`
	SizeGreater *int64              `xml:"ObjectSizeGreaterThan"`
	SizeLess    *int64              `xml:"ObjectSizeLessThan"`
	Tags        []struct{}          `xml:"Tag"`
	And         *lifecycleFilterAnd `xml:"And"`
}

type lifecycleFilterAnd struct {
	Prefix      *string    `xml:"Prefix"`
	SizeGreater *int64     `xml:"ObjectSizeGreaterThan"`
	SizeLess    *int64     `xml:"ObjectSizeLessThan"`
	Tags        []struct{} `xml:"Tag"`
}

func lcInvalid(format string, args ...any) error {
	return apiErr(http.StatusBadRequest, "InvalidArgument", format, args...)
}

var (
	errLifecycleTags        = apiErr(http.StatusNotImplemented, "NotImplemented", "Lifecycle filters on object tags are not supported: insitu keeps no object tags")
	errLifecycleTransitions = apiErr(http.StatusNotImplemented, "NotImplemented", "Lifecycle transitions are not supported: insitu has one storage class")
)

// parseLifecycle decodes and validates a PutBucketLifecycleConfiguration
// body: MalformedXML for what is not a LifecycleConfiguration of 1..1000
// rules, each with Status Enabled or Disabled and exactly one of Filter
// or Prefix; InvalidArgument for values S3 refuses (a repeated or too long
// ID, no action, a day count below 1, a Date not at midnight UTC, an
// Expiration with more than one of Days, Date and
// ExpiredObjectDeleteMarker); NotImplemented for tag filters and
// transitions.
func parseLifecycle(body []byte) (lifecycle.Rules, error) {
	var c lifecycleConfiguration
	if err := xml.Unmarshal(body, &c); err != nil || c.XMLName.Local != "LifecycleConfiguration" {
		return nil, errMalformedXML
	}
	if len(c.Rules) == 0 || len(c.Rules) > maxLifecycleRules {
		return nil, errMalformedXML
	}
	ids := map[string]bool{}
	rules := make(lifecycle.Rules, 0, len(c.Rules))
	for i := range c.Rules {
		r, err := c.Rules[i].parse()
		if err != nil {
			return nil, err
		}
		if r.ID != "" && ids[r.ID] {
			return nil, lcInvalid("Rule ID must be unique. Found same ID for more than one rule")
		}
		ids[r.ID] = true
		rules = append(rules, r)
	}
	return rules, nil
}

func (x *lifecycleRule) parse() (lifecycle.Rule, error) {
	r := lifecycle.Rule{ID: x.ID}
	switch {
	case x.Status != "Enabled" && x.Status != "Disabled":
		return r, errMalformedXML
	case len(x.ID) > maxLifecycleID:
		return r, lcInvalid("ID length should not exceed allowed limit of %d", maxLifecycleID)
	case len(x.Transitions) > 0 || len(x.NoncurrentTransitions) > 0:
		return r, errLifecycleTransitions
	}
	r.Enabled = x.Status == "Enabled"
	f, err := x.filter()
	if err != nil {
		return r, err
	}
	r.Filter, r.LegacyPrefix = f, x.Prefix != nil
	if err := x.actions(&r); err != nil {
		return r, err
	}
	if r.AbortDays > 0 && (f.SizeGreater > 0 || f.SizeLess > 0) {
		return r, lcInvalid("AbortIncompleteMultipartUpload cannot be specified with an object size filter")
	}
	return r, nil
}

// filter reads the rule's Filter, or its deprecated Prefix.
func (x *lifecycleRule) filter() (lifecycle.Filter, error) {
	var f lifecycle.Filter
	switch {
	case (x.Filter == nil) == (x.Prefix == nil):
		return f, errMalformedXML // exactly one of them
	case x.Prefix != nil:
		f.Prefix = *x.Prefix
		return f, nil
	}
	fx := x.Filter
	n := count(fx.Prefix != nil, fx.SizeGreater != nil, fx.SizeLess != nil, len(fx.Tags) > 0, fx.And != nil)
	if n > 1 || len(fx.Tags) > 1 {
		return f, errMalformedXML // one condition, or several under And
	}
	if len(fx.Tags) > 0 || (fx.And != nil && len(fx.And.Tags) > 0) {
		return f, errLifecycleTags
	}
	prefix, gt, lt := fx.Prefix, fx.SizeGreater, fx.SizeLess
	if a := fx.And; a != nil {
		prefix, gt, lt = a.Prefix, a.SizeGreater, a.SizeLess
	}
	if prefix != nil {
		f.Prefix = *prefix
	}
	if gt != nil {
		f.SizeGreater = *gt
	}
	if lt != nil {
		f.SizeLess = *lt
	}
	if f.SizeGreater < 0 || f.SizeLess < 0 || (lt != nil && f.SizeLess == 0) {
		return f, lcInvalid("ObjectSizeGreaterThan and ObjectSizeLessThan must be non-negative (ObjectSizeLessThan positive)")
	}
	if f.SizeLess > 0 && f.SizeGreater >= f.SizeLess {
		return f, lcInvalid("ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
	}
	return f, nil
}

// actions reads Expiration, NoncurrentVersionExpiration and
// AbortIncompleteMultipartUpload into r; at least one must be there.
func (x *lifecycleRule) actions(r *lifecycle.Rule) error {
	if x.Expiration == nil && x.NoncurrentVersionExpiration == nil && x.AbortIncompleteMultipartUpload == nil {
		return lcInvalid("At least one action needs to be specified in a rule")
	}
	if e := x.Expiration; e != nil {
		if count(e.Days != nil, e.Date != nil, e.ExpiredObjectDeleteMarker != nil) != 1 {
			return errMalformedXML
		}
		if err := positive(e.Days, "'Days' for Expiration action", &r.ExpireDays); err != nil {
			return err
		}
		if e.Date != nil {
			d, err := time.Parse(time.RFC3339, strings.TrimSpace(*e.Date))
			if err != nil || !d.Equal(d.UTC().Truncate(24*time.Hour)) {
				return lcInvalid("'Date' must be at midnight GMT")
			}
			r.ExpireDate = d.UTC()
		}
		r.ExpiredObjectDeleteMarker = e.ExpiredObjectDeleteMarker != nil && *e.ExpiredObjectDeleteMarker
	}
	if n := x.NoncurrentVersionExpiration; n != nil {
		if n.NoncurrentDays == nil {
			return errMalformedXML
		}
		if err := positive(n.NoncurrentDays, "'NoncurrentDays' for NoncurrentVersionExpiration action", &r.NoncurrentDays); err != nil {
			return err
		}
		if v := n.NewerNoncurrentVersions; v != nil {
			if *v < 1 || *v > 100 {
				return lcInvalid("'NewerNoncurrentVersions' must be between 1 and 100")
			}
			r.NewerNoncurrent = *v
		}
	}
	if a := x.AbortIncompleteMultipartUpload; a != nil {
		if a.DaysAfterInitiation == nil {
			return errMalformedXML
		}
		return positive(a.DaysAfterInitiation, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action", &r.AbortDays)
	}
	return nil
}

// positive stores *v in dst, refusing a value below 1; nil v is no value.
func positive(v *int, what string, dst *int) error {
	if v == nil {
		return nil
	}
	if *v < 1 {
		return lcInvalid("%s must be a positive integer", what)
	}
	*dst = *v
	return nil
}

func count(conds ...bool) int {
	n := 0
	for _, c := range conds {
		if c {
			n++
		}
	}
	return n
}
