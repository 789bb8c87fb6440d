package checksum

import (
	"hash/crc32"
	"sync"
)

// CRC-32C of a concatenation from the CRCs of its parts: a CRC's register
// is linear over GF(2), so crc(A||B) = Z(len B)(crc(A)) ^ crc(B), where Z(n)
// is what feeding n zero bytes does to the register (the initial and final
// inversions cancel out). Z(n) is a 32x32 bit matrix, applied as the XOR
// of the columns of the set bits; the matrices of 2^k zero bytes are made
// once, by squaring, and Z(n) is their product over n's set bits.

// gf2Matrix is a linear map on 32-bit vectors: column i is the image of
// bit i.
type gf2Matrix [32]uint32

func (m *gf2Matrix) apply(v uint32) uint32 {
	var r uint32
	for i := 0; v != 0; i, v = i+1, v>>1 {
		if v&1 != 0 {
			r ^= m[i]
		}
	}
	return r
}

// then returns the map that applies m, then n.
func (m *gf2Matrix) then(n *gf2Matrix) gf2Matrix {
	var r gf2Matrix
	for i := range r {
		r[i] = n.apply(m[i])
	}
	return r
}

// zeroPowers holds Z(2^k) for k < 48 (byte counts up to 256 TiB).
var zeroPowers = sync.OnceValue(func() *[48]gf2Matrix {
	var bit gf2Matrix // one zero bit into the reflected register
	bit[0] = crc32.Castagnoli
	for i := 1; i < 32; i++ {
		bit[i] = 1 << (i - 1)
	}
	var p [48]gf2Matrix
	m := bit
	for range 3 { // 8 bits: one byte
		m = m.then(&m)
	}
	for k := range p {
		p[k] = m
		m = m.then(&m)
	}
	return &p
})

// CombineCRC32C returns the CRC-32C of A||B from crcA, crcB and the length
// of B in bytes (at most 2^48-1). Safe for concurrent use; it costs at
// most a few hundred word operations.
func CombineCRC32C(crcA, crcB uint32, lenB int64) uint32 {
	p := zeroPowers()
	for k := 0; lenB != 0 && crcA != 0; k, lenB = k+1, lenB>>1 {
		if lenB&1 != 0 {
			crcA = p[k].apply(crcA)
		}
	}
	return crcA ^ crcB
}
