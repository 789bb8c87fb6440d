package ec2api

import "strconv"

type imageItem struct {
	ImageID         string `xml:"imageId"`
	ImageLocation   string `xml:"imageLocation"`
	State           string `xml:"imageState"`
	OwnerID         string `xml:"imageOwnerId"`
	CreationDate    string `xml:"creationDate"`
	Public          bool   `xml:"isPublic"`
	Architecture    string `xml:"architecture"`
	ImageType       string `xml:"imageType"`
	Name            string `xml:"name"`
	Description     string `xml:"description,omitempty"`
	RootDeviceType  string `xml:"rootDeviceType"`
	Virtualization  string `xml:"virtualizationType"`
	PlatformDetails string `xml:"platformDetails"`
	Tags            []Tag  `xml:"tagSet>item"`
}

type describeImagesResp struct {
	Meta
	Images    []imageItem `xml:"imagesSet>item"`
	NextToken string      `xml:"nextToken,omitempty"`
}

// imageQuery is DescribeImages' parameters.
type imageQuery struct {
	ids, owners []string
	publicOnly  bool
	filters     []Filter
	pg          paging
}

func parseImageQuery(c *call) (imageQuery, error) {
	var q imageQuery
	var err error
	if q.ids, err = c.p.List("ImageId"); err != nil {
		return q, err
	}
	for _, id := range q.ids {
		if !amiID.MatchString(id) {
			return q, errAMIMalformed(id)
		}
	}
	if q.owners, err = c.p.List("Owner"); err != nil {
		return q, err
	}
	for i, o := range q.owners {
		if o == "self" {
			q.owners[i] = c.account
		}
	}
	by, err := c.p.List("ExecutableBy")
	if err != nil {
		return q, err
	}
	for _, e := range by {
		switch e {
		case "all":
			q.publicOnly = true
		case "self", c.account: // every image shown is the caller's to launch
		default:
			return q, errInvalid("Value (%s) for parameter ExecutableBy is invalid. Expected: all, self or your account id.", e)
		}
	}
	if q.filters, err = c.p.Filters(); err != nil {
		return q, err
	}
	if err := knownFilters(q.filters, imageFields(Image{})); err != nil {
		return q, err
	}
	q.pg, err = c.p.page(5, 1000)
	return q, err
}

// describeImages lists the images the caller may see (its own and public
// ones) in id order, narrowed by ImageId.N (each must be visible:
// InvalidAMIID.NotFound), Owner.N (self or account ids), ExecutableBy.N
// (all: public ones) and the filters image-id, name, description, state,
// owner-id, is-public, architecture, image-type, root-device-type,
// virtualization-type, tag:KEY, tag-key. Tags are the caller's own.
func (h *Handler) describeImages(c *call) (Response, error) {
	q, err := parseImageQuery(c)
	if err != nil {
		return nil, err
	}
	all, err := listKeyed[Image](c.ctx, h.cfg.KV, imageKey(""))
	if err != nil {
		return nil, err
	}
	visible := make(map[string]bool, len(all))
	for _, k := range all {
		visible[k.v.ID] = k.v.OwnerID == c.account || k.v.Public
	}
	for _, id := range q.ids {
		if seen, exists := visible[id]; !seen {
			if exists && c.dryRun { // another account's private image
				return nil, errUnauthorized()
			}
			return nil, errAMINotFound(id)
		}
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	var items []imageItem
	for _, k := range all {
		img := k.v
		if !visible[img.ID] || !q.selects(img) {
			continue
		}
		tags, err := h.tagsOf(c, img.ID)
		if err != nil {
			return nil, err
		}
		ok, err := applies(q.filters, imageFields(img), tags)
		if err != nil {
			return nil, err
		}
		if ok {
			items = append(items, imageXML(img, tags))
		}
	}
	resp := &describeImagesResp{}
	resp.Images, resp.NextToken = pageOf(items, q.pg, func(i imageItem) string { return i.ImageID })
	return resp, nil
}

// selects applies ImageId.N, Owner.N and ExecutableBy.N.
func (q imageQuery) selects(img Image) bool {
	return (len(q.ids) == 0 || contains(q.ids, img.ID)) &&
		(len(q.owners) == 0 || contains(q.owners, img.OwnerID)) &&
		(!q.publicOnly || img.Public)
}

func imageXML(img Image, tags map[string]string) imageItem {
	return imageItem{ImageID: img.ID, ImageLocation: img.Location, State: img.State, OwnerID: img.OwnerID,
		CreationDate: img.Created.UTC().Format("2006-01-02T15:04:05.000Z"), Public: img.Public,
		Architecture: img.Architecture, ImageType: "machine", Name: img.Name, Description: img.Description,
		RootDeviceType: "instance-store", Virtualization: "hvm", PlatformDetails: "Linux/UNIX", Tags: tagSet(tags)}
}

func imageFields(img Image) fields {
	return func(name string) ([]string, bool) {
		switch name {
		case "image-id":
			return []string{img.ID}, true
		case "name":
			return []string{img.Name}, true
		case "description":
			return []string{img.Description}, true
		case "state":
			return []string{img.State}, true
		case "owner-id":
			return []string{img.OwnerID}, true
		case "is-public":
			return []string{strconv.FormatBool(img.Public)}, true
		case "architecture":
			return []string{img.Architecture}, true
		case "image-type":
			return []string{"machine"}, true
		case "root-device-type":
			return []string{"instance-store"}, true
		case "virtualization-type":
			return []string{"hvm"}, true
		case "manifest-location":
			return []string{img.Location}, true
		}
		return nil, false
	}
}
