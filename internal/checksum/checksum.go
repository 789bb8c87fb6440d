// Package checksum computes the checksums S3 clients send and ask for:
// CRC32, CRC32C, CRC64NVME, SHA1 and SHA256 (x-amz-checksum-*), plus MD5
// for Content-MD5 and ETags. Values are exchanged base64-encoded, as S3 does.
//
// Hashes returned by New are not safe for concurrent use.
package checksum

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"strings"
)

// Algorithm names as they appear in x-amz-checksum-algorithm and
// x-amz-sdk-checksum-algorithm.
const (
	CRC32     = "CRC32"
	CRC32C    = "CRC32C"
	CRC64NVME = "CRC64NVME"
	SHA1      = "SHA1"
	SHA256    = "SHA256"
)

// Algorithms lists the supported algorithms.
var Algorithms = []string{CRC32, CRC32C, CRC64NVME, SHA1, SHA256}

// crc64NVMEPoly is the reflected CRC-64/NVME polynomial (0xAD93D23594C93659
// in normal form). hash/crc64 applies the all-ones init and xorout that
// CRC-64/NVME specifies.
const crc64NVMEPoly = 0x9A6C9329AC4BC9B5

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	nvmeTable  = crc64.MakeTable(crc64NVMEPoly)
)

// ErrUnsupported is wrapped by errors for unknown algorithm names.
var ErrUnsupported = fmt.Errorf("checksum: unsupported algorithm")

// Canonical returns the upper-case algorithm name and whether it is supported.
func Canonical(alg string) (string, bool) {
	a := strings.ToUpper(strings.TrimSpace(alg))
	for _, x := range Algorithms {
		if x == a {
			return a, true
		}
	}
	return a, false
}

// New returns a fresh hash for alg (case-insensitive).
func New(alg string) (hash.Hash, error) {
	a, ok := Canonical(alg)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnsupported, alg)
	}
	switch a {
	case CRC32:
		return crc32.NewIEEE(), nil
	case CRC32C:
		return crc32.New(castagnoli), nil
	case CRC64NVME:
		return crc64.New(nvmeTable), nil
	case SHA1:
		return sha1.New(), nil
	default:
		return sha256.New(), nil
	}
}

// HeaderName returns the x-amz-checksum-* header for alg, lower-case.
func HeaderName(alg string) string {
	return "x-amz-checksum-" + strings.ToLower(alg)
}

// Encode returns the base64 form of a digest.
func Encode(sum []byte) string { return base64.StdEncoding.EncodeToString(sum) }

// Sum returns the base64 checksum of b under alg.
func Sum(alg string, b []byte) (string, error) {
	h, err := New(alg)
	if err != nil {
		return "", err
	}
	h.Write(b)
	return Encode(h.Sum(nil)), nil
}

// ValidValue reports whether v decodes to a digest of the right length for alg.
func ValidValue(alg, v string) bool {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return false
	}
	h, err := New(alg)
	if err != nil {
		return false
	}
	return len(b) == h.Size()
}

// Composite returns the COMPOSITE multipart checksum: alg over the
// concatenation of the decoded part checksums, base64, then "-N".
func Composite(alg string, parts []string) (string, error) {
	h, err := New(alg)
	if err != nil {
		return "", err
	}
	for _, p := range parts {
		b, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			return "", fmt.Errorf("checksum: part value %q: %w", p, err)
		}
		h.Write(b)
	}
	return fmt.Sprintf("%s-%d", Encode(h.Sum(nil)), len(parts)), nil
}

// BlockCRC returns the CRC32C of b, used for at-rest block checksums.
func BlockCRC(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// BlockCRCUpdate is BlockCRC of the bytes crc covered followed by b.
func BlockCRCUpdate(crc uint32, b []byte) uint32 { return crc32.Update(crc, castagnoli, b) }
