package ec2api

import "strconv"

type groupItem struct {
	OwnerID     string         `xml:"ownerId"`
	GroupID     string         `xml:"groupId"`
	GroupName   string         `xml:"groupName"`
	Description string         `xml:"groupDescription"`
	Ingress     []ipPermission `xml:"ipPermissions>item"`
	Egress      []ipPermission `xml:"ipPermissionsEgress>item"`
	Tags        []Tag          `xml:"tagSet>item"`
}

type describeGroupsResp struct {
	Meta
	Groups    []groupItem `xml:"securityGroupInfo>item"`
	NextToken string      `xml:"nextToken,omitempty"`
}

// allEgress is every group's egress: all traffic anywhere.
var allEgress = []Rule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"}}

// describeGroups lists the caller's groups in id order, narrowed by
// GroupId.N / GroupName.N (each must exist: InvalidGroup.NotFound) and the
// filters group-id, group-name, description, owner-id,
// ip-permission.{protocol,from-port,to-port,cidr}, tag:KEY, tag-key.
func (h *Handler) describeGroups(c *call) (Response, error) {
	ids, err := c.p.List("GroupId")
	if err != nil {
		return nil, err
	}
	names, err := c.p.List("GroupName")
	if err != nil {
		return nil, err
	}
	filters, err := c.p.Filters()
	if err != nil {
		return nil, err
	}
	if err := knownFilters(filters, groupFields(group{}, "")); err != nil {
		return nil, err
	}
	pg, err := c.p.page(5, 1000)
	if err != nil {
		return nil, err
	}
	if err := h.foreign(c, ids...); err != nil {
		return nil, err
	}
	all, err := listKeyed[group](c.ctx, h.cfg.KV, acctKey(c.account, "sg", ""))
	if err != nil {
		return nil, err
	}
	if err := groupsNamed(all, ids, names); err != nil {
		return nil, err
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	var items []groupItem
	for _, k := range all {
		g := k.v
		if (len(ids) > 0 && !contains(ids, g.ID)) || (len(names) > 0 && !contains(names, g.Name)) {
			continue
		}
		tags, err := h.tagsOf(c, g.ID)
		if err != nil {
			return nil, err
		}
		ok, err := applies(filters, groupFields(g, c.account), tags)
		if err != nil {
			return nil, err
		}
		if ok {
			items = append(items, groupItem{OwnerID: c.account, GroupID: g.ID, GroupName: g.Name, Description: g.Description,
				Ingress: permissions(g.Ingress), Egress: permissions(allEgress), Tags: tagSet(tags)})
		}
	}
	resp := &describeGroupsResp{}
	resp.Groups, resp.NextToken = pageOf(items, pg, func(g groupItem) string { return g.GroupID })
	return resp, nil
}

func groupsNamed(all []keyed[group], ids, names []string) error {
	byID, byName := map[string]bool{}, map[string]bool{}
	for _, k := range all {
		byID[k.v.ID], byName[k.v.Name] = true, true
	}
	for _, id := range ids {
		if !byID[id] {
			return errGroupNotFound(id)
		}
	}
	for _, n := range names {
		if !byName[n] {
			return errGroupNotFound(n)
		}
	}
	return nil
}

func groupFields(g group, owner string) fields {
	return func(name string) ([]string, bool) {
		var out []string
		switch name {
		case "group-id":
			return []string{g.ID}, true
		case "group-name":
			return []string{g.Name}, true
		case "description":
			return []string{g.Description}, true
		case "owner-id":
			return []string{owner}, true
		case "ip-permission.protocol":
			for _, r := range g.Ingress {
				out = append(out, r.Protocol)
			}
		case "ip-permission.from-port":
			for _, r := range g.Ingress {
				out = append(out, strconv.Itoa(r.FromPort))
			}
		case "ip-permission.to-port":
			for _, r := range g.Ingress {
				out = append(out, strconv.Itoa(r.ToPort))
			}
		case "ip-permission.cidr":
			for _, r := range g.Ingress {
				out = append(out, r.CIDR)
			}
		default:
			return nil, false
		}
		return out, true
	}
}
