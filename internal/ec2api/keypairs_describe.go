package ec2api

import (
	"time"
)

type keyPairItem struct {
	KeyPairID   string `xml:"keyPairId"`
	KeyName     string `xml:"keyName"`
	KeyType     string `xml:"keyType"`
	Fingerprint string `xml:"keyFingerprint"`
	PublicKey   string `xml:"publicKey,omitempty"`
	CreateTime  string `xml:"createTime"`
	Tags        []Tag  `xml:"tagSet>item"`
}

type describeKeyPairsResp struct {
	Meta
	Keys []keyPairItem `xml:"keySet>item"`
}

// describeKeyPairs lists the caller's key pairs, narrowed by KeyName.N,
// KeyPairId.N (each must exist: InvalidKeyPair.NotFound) and the filters
// key-name, key-pair-id, fingerprint, key-type, tag:KEY, tag-key.
func (h *Handler) describeKeyPairs(c *call) (Response, error) {
	names, err := c.p.List("KeyName")
	if err != nil {
		return nil, err
	}
	ids, err := c.p.List("KeyPairId")
	if err != nil {
		return nil, err
	}
	filters, err := c.p.Filters()
	if err != nil {
		return nil, err
	}
	if err := knownFilters(filters, keyFields(keyPair{})); err != nil {
		return nil, err
	}
	withPublic, err := c.p.Bool("IncludePublicKey")
	if err != nil {
		return nil, err
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	all, err := listKeyed[keyPair](c.ctx, h.cfg.KV, acctKey(c.account, "keypair", ""))
	if err != nil {
		return nil, err
	}
	if err := keysNamed(all, names, ids); err != nil {
		return nil, err
	}
	resp := &describeKeyPairsResp{}
	for _, k := range all {
		kp := k.v
		if (len(names) > 0 && !contains(names, kp.Name)) || (len(ids) > 0 && !contains(ids, kp.ID)) {
			continue
		}
		tags, err := h.tagsOf(c, kp.ID)
		if err != nil {
			return nil, err
		}
		if ok, err := applies(filters, keyFields(kp), tags); err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		item := keyPairItem{KeyPairID: kp.ID, KeyName: kp.Name, KeyType: kp.Type, Fingerprint: kp.Fingerprint,
			CreateTime: kp.Created.Format(time.RFC3339), Tags: tagSet(tags)}
		if withPublic {
			item.PublicKey = kp.PublicKey
		}
		resp.Keys = append(resp.Keys, item)
	}
	return resp, nil
}

// keysNamed checks that every name and id asked for exists.
func keysNamed(all []keyed[keyPair], names, ids []string) error {
	byName, byID := map[string]bool{}, map[string]bool{}
	for _, k := range all {
		byName[k.v.Name], byID[k.v.ID] = true, true
	}
	for _, n := range names {
		if !byName[n] {
			return errKeyNotFound(n)
		}
	}
	for _, id := range ids {
		if !byID[id] {
			return errKeyNotFound(id)
		}
	}
	return nil
}

func keyFields(kp keyPair) fields {
	return func(name string) ([]string, bool) {
		switch name {
		case "key-name":
			return []string{kp.Name}, true
		case "key-pair-id":
			return []string{kp.ID}, true
		case "fingerprint":
			return []string{kp.Fingerprint}, true
		case "key-type":
			return []string{kp.Type}, true
		}
		return nil, false
	}
}

type deleteKeyPairResp struct {
	Meta
	Return    bool   `xml:"return"`
	KeyPairID string `xml:"keyPairId,omitempty"`
}

// deleteKeyPair removes a key pair by KeyName or KeyPairId. As on EC2,
// deleting a name that does not exist succeeds; an unknown KeyPairId is
// InvalidKeyPair.NotFound.
func (h *Handler) deleteKeyPair(c *call) (Response, error) {
	name, id := c.p["KeyName"], c.p["KeyPairId"]
	if name == "" && id == "" {
		return nil, errMissing("KeyName")
	}
	if id != "" {
		if err := h.foreign(c, id); err != nil {
			return nil, err
		}
	}
	var kp keyPair
	var err error
	if id != "" {
		kp, err = h.keyPairByID(c, id)
	} else {
		kp, err = h.keyPairByName(c, name)
	}
	if name != "" && id == "" && err != nil && isCode(err, "InvalidKeyPair.NotFound") {
		if err := dry(c); err != nil {
			return nil, err
		}
		return &deleteKeyPairResp{Return: true}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	return &deleteKeyPairResp{Return: true, KeyPairID: kp.ID}, h.removeKeyPair(c, kp)
}

func (h *Handler) removeKeyPair(c *call, kp keyPair) error {
	for _, key := range []string{acctKey(c.account, "keypair", kp.Name), acctKey(c.account, "keyid", kp.ID)} {
		if err := h.cfg.KV.Delete(c.ctx, key); err != nil {
			return err
		}
	}
	if err := h.dropTags(c, kp.ID); err != nil {
		return err
	}
	return h.setOwner(c.ctx, kp.ID, "")
}
