package ec2api

import (
	"encoding/base64"
	"errors"
	"time"
	"unicode"

	"github.com/insitu-cloud/insitu/internal/meta"
)

// keyPair is a stored key pair (ec2/ACCOUNT/keypair/NAME, with
// ec2/ACCOUNT/keyid/ID -> NAME). Only the public half is kept.
type keyPair struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Fingerprint string    `json:"fingerprint"`
	PublicKey   string    `json:"public_key"`
	Created     time.Time `json:"created"`
}

func errKeyNotFound(name string) *Error {
	return badRequest("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", name)
}

func validKeyName(name string) error {
	if len(name) > 255 {
		return errInvalid("Key pair names must be at most 255 characters.")
	}
	for _, r := range name {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return errInvalid("Key pair names must be printable ASCII.")
		}
	}
	return nil
}

func (h *Handler) keyPairByName(c *call, name string) (keyPair, error) {
	var kp keyPair
	_, err := getJSON(c.ctx, h.cfg.KV, acctKey(c.account, "keypair", name), &kp)
	if isNotFound(err) {
		return kp, errKeyNotFound(name)
	}
	return kp, err
}

func (h *Handler) keyPairByID(c *call, id string) (keyPair, error) {
	name, err := h.cfg.KV.Get(c.ctx, acctKey(c.account, "keyid", id))
	if isNotFound(err) {
		return keyPair{}, errKeyNotFound(id)
	}
	if err != nil {
		return keyPair{}, err
	}
	return h.keyPairByName(c, string(name))
}

// storeKeyPair records kp (refusing a name in use) and its tags.
func (h *Handler) storeKeyPair(c *call, kp keyPair, tags []Tag) error {
	err := createJSON(c.ctx, h.cfg.KV, acctKey(c.account, "keypair", kp.Name), &kp)
	if errors.Is(err, meta.ErrConflict) {
		return errKeyDuplicate(kp.Name)
	}
	if err != nil {
		return err
	}
	if err := h.cfg.KV.Put(c.ctx, acctKey(c.account, "keyid", kp.ID), []byte(kp.Name)); err != nil {
		return err
	}
	if err := h.setOwner(c.ctx, kp.ID, c.account); err != nil {
		return err
	}
	return h.addTags(c, kp.ID, tags)
}

// keyArgs reads the KeyName and key pair TagSpecification of a create.
func (h *Handler) keyArgs(c *call) (string, []Tag, error) {
	name, err := c.p.Required("KeyName")
	if err != nil {
		return "", nil, err
	}
	if err := validKeyName(name); err != nil {
		return "", nil, err
	}
	tags, err := c.p.specTags("key-pair")
	if err != nil {
		return "", nil, err
	}
	if c.dryRun { // a DryRun must not promise what the call would refuse
		if _, err := h.keyPairByName(c, name); err == nil {
			return "", nil, errKeyDuplicate(name)
		}
	}
	return name, tags, nil
}

func errKeyDuplicate(name string) *Error {
	return badRequest("InvalidKeyPair.Duplicate", "The keypair '%s' already exists.", name)
}

type createKeyPairResp struct {
	Meta
	KeyName     string `xml:"keyName"`
	Fingerprint string `xml:"keyFingerprint"`
	Material    string `xml:"keyMaterial"`
	KeyPairID   string `xml:"keyPairId"`
	Tags        []Tag  `xml:"tagSet>item"`
}

// createKeyPair makes a key pair (KeyType rsa, the default, or ed25519;
// KeyFormat pem only) and returns its private key, which is not kept.
func (h *Handler) createKeyPair(c *call) (Response, error) {
	name, tags, err := h.keyArgs(c)
	if err != nil {
		return nil, err
	}
	keyType := c.p["KeyType"]
	if keyType == "" {
		keyType = "rsa"
	}
	if f := c.p["KeyFormat"]; f != "" && f != "pem" {
		return nil, errInvalid("Unsupported KeyFormat %s; only pem is supported.", f)
	}
	if keyType != "rsa" && keyType != "ed25519" {
		return nil, errInvalid("Invalid KeyType: %s. Valid values: rsa, ed25519.", keyType)
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	priv, pub, fp, err := newKeyMaterial(keyType)
	if err != nil {
		return nil, err
	}
	kp := keyPair{ID: newID("key-"), Name: name, Type: keyType, Fingerprint: fp, PublicKey: pub, Created: h.cfg.Now().UTC()}
	if err := h.storeKeyPair(c, kp, tags); err != nil {
		return nil, err
	}
	return &createKeyPairResp{KeyName: name, Fingerprint: fp, Material: priv, KeyPairID: kp.ID, Tags: tags}, nil
}

type importKeyPairResp struct {
	Meta
	KeyName     string `xml:"keyName"`
	Fingerprint string `xml:"keyFingerprint"`
	KeyPairID   string `xml:"keyPairId"`
	Tags        []Tag  `xml:"tagSet>item"`
}

// importKeyPair keeps an OpenSSH public key (PublicKeyMaterial, base64
// of the key line, as the CLI and SDKs send it).
func (h *Handler) importKeyPair(c *call) (Response, error) {
	name, tags, err := h.keyArgs(c)
	if err != nil {
		return nil, err
	}
	enc, err := c.p.Required("PublicKeyMaterial")
	if err != nil {
		return nil, err
	}
	material, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, errInvalid("Value for parameter PublicKeyMaterial is invalid. Length exceeds maximum of 2048 bytes or it is not base64.")
	}
	keyType, line, fp, err := parsePublicKey(material)
	if err != nil {
		return nil, err
	}
	if err := dry(c); err != nil {
		return nil, err
	}
	kp := keyPair{ID: newID("key-"), Name: name, Type: keyType, Fingerprint: fp, PublicKey: line, Created: h.cfg.Now().UTC()}
	if err := h.storeKeyPair(c, kp, tags); err != nil {
		return nil, err
	}
	return &importKeyPairResp{KeyName: name, Fingerprint: fp, KeyPairID: kp.ID, Tags: tags}, nil
}
