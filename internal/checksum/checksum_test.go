package checksum

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"testing"
)

// The standard check values: each algorithm over "123456789".
func TestCheckValues(t *testing.T) {
	crc := func(n uint64, size int) string {
		b := make([]byte, 8)
		binary.BigEndian.PutUint64(b, n)
		return base64.StdEncoding.EncodeToString(b[8-size:])
	}
	tests := []struct{ alg, want string }{
		{CRC32, crc(0xCBF43926, 4)},
		{CRC32C, crc(0xE3069283, 4)},
		{CRC64NVME, crc(0xAE8B14860A799888, 8)},
		{SHA1, "98O8HYCOBHMq32eZZczDTKeuNEE="}, // f7c3bc1d808e04732adf679965ccc34ca7ae3441
		{SHA256, "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="},
	}
	for _, tt := range tests {
		got, err := Sum(tt.alg, []byte("123456789"))
		if err != nil || got != tt.want {
			t.Errorf("%s = %s (%v), want %s", tt.alg, got, err, tt.want)
		}
		if !ValidValue(tt.alg, got) {
			t.Errorf("ValidValue(%s, %s) = false", tt.alg, got)
		}
	}
}

func TestCanonicalAndUnsupported(t *testing.T) {
	if a, ok := Canonical(" crc64nvme "); !ok || a != CRC64NVME {
		t.Fatalf("Canonical = %q %v", a, ok)
	}
	for _, bad := range []string{"SHA512", "MD5", "XXHASH64", ""} {
		if _, err := New(bad); !errors.Is(err, ErrUnsupported) {
			t.Errorf("New(%q) = %v", bad, err)
		}
	}
	if ValidValue(CRC32, "AAAA") || ValidValue(CRC32, "not base64!") {
		t.Error("ValidValue accepted a wrong-length or non-base64 value")
	}
}

func TestComposite(t *testing.T) {
	p1, _ := Sum(CRC32, []byte("a"))
	p2, _ := Sum(CRC32, []byte("b"))
	got, err := Composite(CRC32, []string{p1, p2})
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := base64.StdEncoding.DecodeString(p1)
	b2, _ := base64.StdEncoding.DecodeString(p2)
	want, _ := Sum(CRC32, append(b1, b2...))
	if got != want+"-2" {
		t.Fatalf("Composite = %s, want %s-2", got, want)
	}
	if _, err := Composite(CRC32, []string{"%%%"}); err == nil {
		t.Fatal("Composite accepted a bad part value")
	}
}
