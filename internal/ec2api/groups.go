package ec2api

import (
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// group is a stored security group (ec2/ACCOUNT/sg/ID, with
// ec2/ACCOUNT/sgname/NAME -> ID keeping names unique per account).
type group struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Ingress     []Rule    `json:"ingress,omitempty"`
	Created     time.Time `json:"created"`
}

func errGroupNotFound(ref string) *Error {
	return badRequest("InvalidGroup.NotFound", "The security group '%s' does not exist", ref)
}

func errGroupDuplicate(name string) *Error {
	return badRequest("InvalidGroup.Duplicate", "The security group '%s' already exists", name)
}

func (h *Handler) groupByID(c *call, id string) (group, error) {
	var g group
	_, err := getJSON(c.ctx, h.cfg.KV, acctKey(c.account, "sg", id), &g)
	if isNotFound(err) {
		return g, errGroupNotFound(id)
	}
	return g, err
}

// groupRef resolves GroupId, or else GroupName, to one of the caller's
// group ids (after refusing, in a DryRun, another account's id).
func (h *Handler) groupRef(c *call) (string, error) {
	if id := c.p["GroupId"]; id != "" {
		if err := h.foreign(c, id); err != nil {
			return "", err
		}
		_, err := h.groupByID(c, id)
		return id, err
	}
	name, err := c.p.Required("GroupName")
	if err != nil {
		return "", errMissing("GroupId")
	}
	id, err := h.cfg.KV.Get(c.ctx, acctKey(c.account, "sgname", name))
	if isNotFound(err) {
		return "", errGroupNotFound(name)
	}
	return string(id), err
}

func validGroupText(what, s string) error {
	if len(s) > 255 {
		return errInvalid("%s must be at most 255 characters.", what)
	}
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return errInvalid("%s must be printable ASCII.", what)
		}
	}
	return nil
}

type createGroupResp struct {
	Meta
	Return  bool   `xml:"return"`
	GroupID string `xml:"groupId"`
	Tags    []Tag  `xml:"tagSet>item"`
}

// createGroup makes a security group with no ingress rules (all egress
// allowed, as EC2's default); names are unique per account.
func (h *Handler) createGroup(c *call) (Response, error) {
	name, err := c.p.Required("GroupName")
	if err != nil {
		return nil, err
	}
	desc, err := c.p.Required("GroupDescription")
	if err != nil {
		return nil, err
	}
	if err := validGroupText("GroupName", name); err != nil {
		return nil, err
	}
	if strings.HasPrefix(name, "sg-") {
		return nil, errInvalid("Group names may not be in the format sg-*.")
	}
	if err := validGroupText("GroupDescription", desc); err != nil {
		return nil, err
	}
	tags, err := c.p.specTags("security-group")
	if err != nil {
		return nil, err
	}
	if _, err := h.cfg.KV.Get(c.ctx, acctKey(c.account, "sgname", name)); c.dryRun && err == nil {
		return nil, errGroupDuplicate(name)
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	g := group{ID: newID("sg-"), Name: name, Description: desc, Created: h.cfg.Now().UTC()}
	err = h.cfg.KV.CompareAndSwap(c.ctx, acctKey(c.account, "sgname", name), nil, []byte(g.ID))
	if errors.Is(err, meta.ErrConflict) {
		return nil, errGroupDuplicate(name)
	}
	if err != nil {
		return nil, err
	}
	if err := createJSON(c.ctx, h.cfg.KV, acctKey(c.account, "sg", g.ID), &g); err != nil {
		return nil, err
	}
	if err := h.setOwner(c.ctx, g.ID, c.account); err != nil {
		return nil, err
	}
	if err := h.addTags(c, g.ID, tags); err != nil {
		return nil, err
	}
	return &createGroupResp{Return: true, GroupID: g.ID, Tags: tags}, nil
}

type deleteGroupResp struct {
	Meta
	Return  bool   `xml:"return"`
	GroupID string `xml:"groupId"`
}

// deleteGroup removes a group by GroupId or GroupName; a group an
// instance uses is DependencyViolation.
func (h *Handler) deleteGroup(c *call) (Response, error) {
	id, err := h.groupRef(c)
	if err != nil {
		return nil, err
	}
	if h.cfg.Instances != nil {
		used, err := h.cfg.Instances.GroupInUse(c.ctx, c.account, id)
		if err != nil {
			return nil, err
		}
		if used {
			return nil, badRequest("DependencyViolation", "resource %s has a dependent object", id)
		}
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	g, err := h.groupByID(c, id)
	if err != nil {
		return nil, err
	}
	for _, key := range []string{acctKey(c.account, "sg", id), acctKey(c.account, "sgname", g.Name)} {
		if err := h.cfg.KV.Delete(c.ctx, key); err != nil {
			return nil, err
		}
	}
	if err := h.dropTags(c, id); err != nil {
		return nil, err
	}
	return &deleteGroupResp{Return: true, GroupID: id}, h.setOwner(c.ctx, id, "")
}

// changeIngress adds (authorize) or removes rules of a group with
// compare-and-swap: a rule already there is InvalidPermission.Duplicate,
// one to revoke that is not there InvalidPermission.NotFound; either
// way nothing changes.
func (h *Handler) changeIngress(c *call, authorize bool) (Response, error) {
	id, err := h.groupRef(c)
	if err != nil {
		return nil, err
	}
	rules, err := c.p.Rules()
	if err != nil {
		return nil, err
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	err = updateJSON(c.ctx, h.cfg.KV, acctKey(c.account, "sg", id), func(g *group) error {
		if authorize {
			return addRules(g, rules)
		}
		return removeRules(g, rules)
	})
	if isNotFound(err) {
		return nil, errGroupNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

func (h *Handler) authorizeIngress(c *call) (Response, error) { return h.changeIngress(c, true) }
func (h *Handler) revokeIngress(c *call) (Response, error)    { return h.changeIngress(c, false) }

func addRules(g *group, rules []Rule) error {
	for _, r := range rules {
		for _, o := range g.Ingress {
			if o.same(r) {
				return badRequest("InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", r)
			}
		}
		g.Ingress = append(g.Ingress, r)
	}
	return nil
}

func removeRules(g *group, rules []Rule) error {
	for _, r := range rules {
		i := 0
		for i < len(g.Ingress) && !g.Ingress[i].same(r) {
			i++
		}
		if i == len(g.Ingress) {
			return badRequest("InvalidPermission.NotFound", "The specified rule \"%s\" does not exist in this security group.", r)
		}
		g.Ingress = append(g.Ingress[:i], g.Ingress[i+1:]...)
	}
	return nil
}
