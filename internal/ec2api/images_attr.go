package ec2api

import (
	"strconv"
	"unicode/utf8"
)

// imageChange is what one ModifyImageAttribute call changes.
type imageChange struct {
	public      *bool   // launch permission group "all" added or removed
	description *string // a new description
}

// parseImageChange reads the two forms EC2 accepts: the structured one
// (LaunchPermission.Add.N.Group / .Remove.N.Group, Description.Value)
// and the flat one (Attribute launchPermission with OperationType add or
// remove and UserGroup.N; Attribute description with Value). Only the
// group "all" is supported (launching by other named accounts is not).
func parseImageChange(p Params) (imageChange, error) {
	var ch imageChange
	for _, op := range []struct {
		prefix string
		public bool
	}{{"LaunchPermission.Add", true}, {"LaunchPermission.Remove", false}} {
		idx, err := p.Indexes(op.prefix)
		if err != nil {
			return ch, err
		}
		for _, i := range idx {
			pre := op.prefix + "." + strconv.Itoa(i)
			if err := launchGroup(p[pre+".Group"], p[pre+".UserId"]); err != nil {
				return ch, err
			}
			ch.public = &op.public
		}
	}
	if v, ok := p["Description.Value"]; ok {
		ch.description = &v
	}
	if err := parseFlatImageChange(p, &ch); err != nil {
		return ch, err
	}
	if ch.description != nil && (utf8.RuneCountInString(*ch.description) > 255 || !utf8.ValidString(*ch.description)) {
		return ch, errInvalid("The Description must be at most 255 characters of UTF-8.")
	}
	if ch.public == nil && ch.description == nil {
		return ch, errMissing("LaunchPermission")
	}
	return ch, nil
}

func parseFlatImageChange(p Params, ch *imageChange) error {
	switch attr := p["Attribute"]; attr {
	case "":
		return nil
	case "description":
		v := p["Value"]
		ch.description = &v
		return nil
	case "launchPermission":
		groups, err := p.List("UserGroup")
		if err != nil {
			return err
		}
		users, err := p.List("UserId")
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return launchGroup("", users[0])
		}
		if len(groups) == 0 {
			return errMissing("UserGroup")
		}
		for _, g := range groups {
			if err := launchGroup(g, ""); err != nil {
				return err
			}
		}
		op := p["OperationType"]
		if op != "add" && op != "remove" {
			return errInvalid("Value (%s) for parameter OperationType is invalid. Expected: add or remove.", op)
		}
		public := op == "add"
		ch.public = &public
		return nil
	default:
		return errInvalid("Value (%s) for parameter Attribute is invalid. Supported: launchPermission, description.", attr)
	}
}

func launchGroup(group, user string) error {
	if user != "" {
		return errInvalid("Launch permissions for accounts are not supported; only the group 'all' (public images).")
	}
	if group != "all" {
		return errInvalid("Value (%s) for parameter Group is invalid. Expected: all.", group)
	}
	return nil
}

// modifyImageAttribute makes one of the caller's images public (launch
// permission group all) or private again, or changes its description.
func (h *Handler) modifyImageAttribute(c *call) (Response, error) {
	id, err := c.p.Required("ImageId")
	if err != nil {
		return nil, err
	}
	ch, err := parseImageChange(c.p)
	if err != nil {
		return nil, err
	}
	if err := h.foreign(c, id); err != nil {
		return nil, err
	}
	if _, err := h.ownImage(c, id); err != nil {
		return nil, err
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	err = updateJSON(c.ctx, h.cfg.KV, imageKey(id), func(img *Image) error {
		if ch.public != nil {
			img.Public = *ch.public
		}
		if ch.description != nil {
			img.Description = *ch.description
		}
		return nil
	})
	if isNotFound(err) {
		return nil, errAMINotFound(id)
	}
	return &returnResp{Return: true}, err
}

type launchPermissionXML struct {
	Group string `xml:"group"`
}

type attrValue struct {
	Value string `xml:"value"`
}

type describeImageAttributeResp struct {
	Meta
	ImageID          string                `xml:"imageId"`
	LaunchPermission []launchPermissionXML `xml:"launchPermission>item"`
	Description      *attrValue            `xml:"description,omitempty"`
}

// describeImageAttribute answers Attribute launchPermission (group all
// when public) or description of one of the caller's images.
func (h *Handler) describeImageAttribute(c *call) (Response, error) {
	id, err := c.p.Required("ImageId")
	if err != nil {
		return nil, err
	}
	attr, err := c.p.Required("Attribute")
	if err != nil {
		return nil, err
	}
	if attr != "launchPermission" && attr != "description" {
		return nil, errInvalid("Value (%s) for parameter Attribute is invalid. Supported: launchPermission, description.", attr)
	}
	if err := h.foreign(c, id); err != nil {
		return nil, err
	}
	img, err := h.ownImage(c, id)
	if err != nil {
		return nil, err
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	resp := &describeImageAttributeResp{ImageID: id}
	if attr == "description" {
		resp.Description = &attrValue{Value: img.Description}
		return resp, nil
	}
	if img.Public {
		resp.LaunchPermission = []launchPermissionXML{{Group: "all"}}
	}
	return resp, nil
}
