package ec2api

type regionItem struct {
	RegionName     string `xml:"regionName"`
	RegionEndpoint string `xml:"regionEndpoint"`
	OptInStatus    string `xml:"optInStatus"`
}

type describeRegionsResp struct {
	Meta
	Regions []regionItem `xml:"regionInfo>item"`
}

// describeRegions reports the node's region (RegionName.N and the
// region-name / endpoint filters narrow it, as on EC2).
func (h *Handler) describeRegions(c *call) (Response, error) {
	names, err := c.p.List("RegionName")
	if err != nil {
		return nil, err
	}
	filters, err := c.p.Filters()
	if err != nil {
		return nil, err
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	r := regionItem{RegionName: h.cfg.Region, RegionEndpoint: c.host, OptInStatus: "opt-in-not-required"}
	for _, n := range names {
		if n != r.RegionName {
			return nil, errInvalid("Invalid region: %s", n)
		}
	}
	ok, err := applies(filters, func(name string) ([]string, bool) {
		switch name {
		case "region-name":
			return []string{r.RegionName}, true
		case "endpoint":
			return []string{r.RegionEndpoint}, true
		case "opt-in-status":
			return []string{r.OptInStatus}, true
		}
		return nil, false
	}, nil)
	if err != nil {
		return nil, err
	}
	resp := &describeRegionsResp{}
	if ok {
		resp.Regions = []regionItem{r}
	}
	return resp, nil
}

type zoneItem struct {
	ZoneName    string `xml:"zoneName"`
	ZoneID      string `xml:"zoneId"`
	ZoneState   string `xml:"zoneState"`
	RegionName  string `xml:"regionName"`
	GroupName   string `xml:"groupName"`
	ZoneType    string `xml:"zoneType"`
	OptInStatus string `xml:"optInStatus"`
}

type describeZonesResp struct {
	Meta
	Zones []zoneItem `xml:"availabilityZoneInfo>item"`
}

// describeZones lists Config.Zones (ZoneName.N narrows them; an unknown
// name is InvalidParameterValue, as on EC2).
func (h *Handler) describeZones(c *call) (Response, error) {
	names, err := c.p.List("ZoneName")
	if err != nil {
		return nil, err
	}
	filters, err := c.p.Filters()
	if err != nil {
		return nil, err
	}
	if err := knownFilters(filters, zoneFields(zoneItem{})); err != nil {
		return nil, err
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	zones, err := h.cfg.Zones(c.ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	resp := &describeZonesResp{}
	for _, z := range zones {
		known[z] = true
		item := zoneItem{ZoneName: z, ZoneID: z, ZoneState: "available", RegionName: h.cfg.Region,
			GroupName: h.cfg.Region, ZoneType: "availability-zone", OptInStatus: "opt-in-not-required"}
		if len(names) > 0 && !contains(names, z) {
			continue
		}
		ok, err := applies(filters, zoneFields(item), nil)
		if err != nil {
			return nil, err
		}
		if ok {
			resp.Zones = append(resp.Zones, item)
		}
	}
	for _, n := range names {
		if !known[n] {
			return nil, errInvalid("The zone '%s' does not exist.", n)
		}
	}
	return resp, nil
}

func zoneFields(z zoneItem) fields {
	return func(name string) ([]string, bool) {
		switch name {
		case "zone-name":
			return []string{z.ZoneName}, true
		case "zone-id":
			return []string{z.ZoneID}, true
		case "state":
			return []string{z.ZoneState}, true
		case "region-name":
			return []string{z.RegionName}, true
		case "zone-type":
			return []string{z.ZoneType}, true
		case "group-name":
			return []string{z.GroupName}, true
		}
		return nil, false
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
