package ec2api

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// newKeyMaterial makes a key pair of keyType ("rsa": 2048 bits, or
// "ed25519") and returns the private key as EC2 hands it out (PEM: PKCS#1
// for RSA, OpenSSH for ED25519), the OpenSSH public key line and EC2's
// fingerprint of a created key (RSA: SHA-1 of the PKCS#8 DER private key;
// ED25519: base64 SHA-256 of the public key).
func newKeyMaterial(keyType string) (private, public, fingerprint string, err error) {
	switch keyType {
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", "", "", err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return "", "", "", err
		}
		pub, err := ssh.NewPublicKey(&k.PublicKey)
		if err != nil {
			return "", "", "", err
		}
		sum := sha1.Sum(der)
		priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
		return string(priv), authorizedLine(pub), colonHex(sum[:]), nil
	case "ed25519":
		pk, sk, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return "", "", "", err
		}
		block, err := ssh.MarshalPrivateKey(sk, "")
		if err != nil {
			return "", "", "", err
		}
		pub, err := ssh.NewPublicKey(pk)
		if err != nil {
			return "", "", "", err
		}
		return string(pem.EncodeToMemory(block)), authorizedLine(pub), sha256Fingerprint(pub), nil
	}
	return "", "", "", errInvalid("Invalid KeyType: %s. Valid values: rsa, ed25519.", keyType)
}

// parsePublicKey reads imported OpenSSH public key material (one
// authorized_keys line) and returns its type, line and EC2 fingerprint
// (RSA: MD5 colon hex; ED25519: base64 SHA-256). Only RSA of at least
// 2048 bits and ED25519 are accepted, as on EC2.
func parsePublicKey(material []byte) (keyType, line, fingerprint string, err error) {
	pub, _, _, _, perr := ssh.ParseAuthorizedKey(material)
	if perr != nil {
		return "", "", "", badRequest("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
	}
	switch pub.Type() {
	case ssh.KeyAlgoRSA:
		ck, ok := pub.(ssh.CryptoPublicKey)
		if rk, isRSA := ck.CryptoPublicKey().(*rsa.PublicKey); !ok || !isRSA || rk.N.BitLen() < 2048 {
			return "", "", "", badRequest("InvalidKey.Format", "RSA keys must be at least 2048 bits")
		}
		return "rsa", authorizedLine(pub), strings.TrimPrefix(ssh.FingerprintLegacyMD5(pub), "MD5:"), nil
	case ssh.KeyAlgoED25519:
		return "ed25519", authorizedLine(pub), sha256Fingerprint(pub), nil
	}
	return "", "", "", badRequest("InvalidKey.Format", "Key type %s is not supported; use RSA (2048 bits or more) or ED25519", pub.Type())
}

func authorizedLine(pub ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

func sha256Fingerprint(pub ssh.PublicKey) string {
	return strings.TrimPrefix(ssh.FingerprintSHA256(pub), "SHA256:") + "="
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ":")
}
