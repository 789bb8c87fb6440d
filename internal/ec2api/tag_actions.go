package ec2api

// createTags adds Tag.N to every ResourceId.N (each must be the caller's).
func (h *Handler) createTags(c *call) (Response, error) {
	ids, tags, _, err := h.tagArgs(c)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, errMissing("Tag")
	}
	if err := validTags(tags); err != nil {
		return nil, err
	}
	if err := h.resolveAll(c, ids); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := h.addTags(c, id, tags); err != nil {
			return nil, err
		}
	}
	return &returnResp{Return: true}, nil
}

// deleteTags removes Tag.N from every ResourceId.N: a tag given with a
// value only when it holds that value; no Tag.N removes every tag.
func (h *Handler) deleteTags(c *call) (Response, error) {
	ids, tags, hasValue, err := h.tagArgs(c)
	if err != nil {
		return nil, err
	}
	if err := h.resolveAll(c, ids); err != nil {
		return nil, err
	}
	for _, id := range ids {
		err := updateJSON(c.ctx, h.cfg.KV, tagsKey(c.account, id), func(r *tagRecord) error {
			if len(tags) == 0 {
				r.Tags = nil
			}
			for i, t := range tags {
				if v, ok := r.Tags[t.Key]; ok && (!hasValue[i] || v == t.Value) {
					delete(r.Tags, t.Key)
				}
			}
			return nil
		})
		if err != nil && !isNotFound(err) {
			return nil, err
		}
	}
	return &returnResp{Return: true}, nil
}

func (h *Handler) tagArgs(c *call) (ids []string, tags []Tag, hasValue []bool, err error) {
	if ids, err = c.p.List("ResourceId"); err != nil {
		return nil, nil, nil, err
	}
	if len(ids) == 0 {
		return nil, nil, nil, errMissing("ResourceId")
	}
	tags, hasValue, err = c.p.tagList("Tag")
	return ids, tags, hasValue, err
}

// resolveAll checks that every id is the caller's, then ends a DryRun.
func (h *Handler) resolveAll(c *call, ids []string) error {
	if err := h.foreign(c, ids...); err != nil {
		return err
	}
	for _, id := range ids {
		if err := h.exists(c, id); err != nil {
			return err
		}
	}
	return dry(c)
}

type tagDescription struct {
	ResourceID   string `xml:"resourceId"`
	ResourceType string `xml:"resourceType"`
	Key          string `xml:"key"`
	Value        string `xml:"value"`
}

type describeTagsResp struct {
	Meta
	Tags      []tagDescription `xml:"tagSet>item"`
	NextToken string           `xml:"nextToken,omitempty"`
}

// describeTags lists the caller's tags (filters resource-id,
// resource-type, key, value), ordered by resource id then key.
func (h *Handler) describeTags(c *call) (Response, error) {
	filters, err := c.p.Filters()
	if err != nil {
		return nil, err
	}
	if err := knownFilters(filters, tagFields(tagDescription{})); err != nil {
		return nil, err
	}
	pg, err := c.p.page(5, 1000)
	if err != nil {
		return nil, err
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	prefix := acctKey(c.account, "tags", "")
	pairs, err := listKeyed[tagRecord](c.ctx, h.cfg.KV, prefix)
	if err != nil {
		return nil, err
	}
	var items []tagDescription
	for _, p := range pairs {
		for _, t := range tagSet(p.v.Tags) {
			d := tagDescription{ResourceID: p.id, ResourceType: resourceType(p.id), Key: t.Key, Value: t.Value}
			ok, err := applies(filters, tagFields(d), nil)
			if err != nil {
				return nil, err
			}
			if ok {
				items = append(items, d)
			}
		}
	}
	resp := &describeTagsResp{}
	resp.Tags, resp.NextToken = pageOf(items, pg, func(d tagDescription) string { return d.ResourceID + "\x00" + d.Key })
	return resp, nil
}

func tagFields(d tagDescription) fields {
	return func(name string) ([]string, bool) {
		switch name {
		case "resource-id":
			return []string{d.ResourceID}, true
		case "resource-type":
			return []string{d.ResourceType}, true
		case "key":
			return []string{d.Key}, true
		case "value":
			return []string{d.Value}, true
		}
		return nil, false
	}
}
