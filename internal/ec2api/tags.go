package ec2api

import (
	"errors"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// Tag limits, as on EC2.
const (
	maxTagsPerResource = 50
	maxTagKey          = 128
	maxTagValue        = 256
)

// resource types by id prefix: what DescribeTags reports and which
// TagSpecification.N.ResourceType a create accepts.
var resourceTypes = map[string]string{"key-": "key-pair", "sg-": "security-group", "i-": "instance", "ami-": "image"}

func resourceType(id string) string {
	for p, t := range resourceTypes {
		if strings.HasPrefix(id, p) {
			return t
		}
	}
	return ""
}

// tagRecord is the stored tags of one resource (ec2/ACCOUNT/tags/ID).
type tagRecord struct {
	Tags map[string]string `json:"tags"`
}

func tagsKey(account, id string) string { return acctKey(account, "tags", id) }

func validTags(tags []Tag) error {
	for _, t := range tags {
		switch {
		case t.Key == "" || utf8.RuneCountInString(t.Key) > maxTagKey || !utf8.ValidString(t.Key):
			return errInvalid("Tag key must be 1 to %d characters of UTF-8.", maxTagKey)
		case utf8.RuneCountInString(t.Value) > maxTagValue || !utf8.ValidString(t.Value):
			return errInvalid("Tag value must be at most %d characters of UTF-8.", maxTagValue)
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return errInvalid("Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	return nil
}

// specTags returns the tags of the TagSpecification.N whose resource type
// is rt; a specification for another type is InvalidParameterValue.
func (p Params) specTags(rt string) ([]Tag, error) {
	specs, err := p.TagSpecs()
	if err != nil {
		return nil, err
	}
	var out []Tag
	for _, s := range specs {
		if s.ResourceType != rt {
			return nil, errInvalid("'%s' is not a valid taggable resource type for this operation.", s.ResourceType)
		}
		out = append(out, s.Tags...)
	}
	return out, validTags(out)
}

// tagsOf returns the tags of resource id of account (nil when none).
func (h *Handler) tagsOf(c *call, id string) (map[string]string, error) {
	var rec tagRecord
	_, err := getJSON(c.ctx, h.cfg.KV, tagsKey(c.account, id), &rec)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil
	}
	return rec.Tags, err
}

// addTags sets tags on id (overwriting the values of existing keys).
func (h *Handler) addTags(c *call, id string, tags []Tag) error {
	if len(tags) == 0 {
		return nil
	}
	key := tagsKey(c.account, id)
	set := func(r *tagRecord) error {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		for _, t := range tags {
			r.Tags[t.Key] = t.Value
		}
		if len(r.Tags) > maxTagsPerResource {
			return badRequest("TagLimitExceeded", "The maximum number of tags (%d) for resource '%s' has been reached.", maxTagsPerResource, id)
		}
		return nil
	}
	for {
		err := updateJSON(c.ctx, h.cfg.KV, key, set)
		if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		var r tagRecord
		if err := set(&r); err != nil {
			return err
		}
		if err := createJSON(c.ctx, h.cfg.KV, key, &r); !errors.Is(err, meta.ErrConflict) {
			return err
		}
	}
}

// dropTags forgets every tag of id (its resource is gone).
func (h *Handler) dropTags(c *call, id string) error {
	return h.cfg.KV.Delete(c.ctx, tagsKey(c.account, id))
}

// tagSet is tags in key order, as responses list them.
func tagSet(tags map[string]string) []Tag {
	out := make([]Tag, 0, len(tags))
	for k, v := range tags {
		out = append(out, Tag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// exists reports, as the resource type's NotFound error, whether id is
// one of the caller's resources. Instances are asked of Config.Instances.
func (h *Handler) exists(c *call, id string) error {
	switch resourceType(id) {
	case "key-pair":
		_, err := h.keyPairByID(c, id)
		return err
	case "security-group":
		_, err := h.groupByID(c, id)
		return err
	case "image":
		_, err := h.ownImage(c, id)
		return err
	case "instance":
		if h.cfg.Instances != nil {
			return h.cfg.Instances.Exists(c.ctx, c.account, id)
		}
		return badRequest("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
	}
	return badRequest("InvalidID", "The ID '%s' is not valid", id)
}
