// sha256: print the SHA-256 of stdin or of each file, like sha256sum(1).
//
//   sha256            prints "HEX  -"
//   sha256 FILE...    prints "HEX  FILE" per file
//
// The hash is a plain implementation of FIPS 180-4; input is read in 64 KiB
// blocks.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

struct sha256 {
	uint32_t h[8];
	uint64_t len;     // bytes hashed so far
	uint8_t buf[64];  // a partial block
	size_t nbuf;
};

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void init(struct sha256 *s) {
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	memcpy(s->h, iv, sizeof iv);
	s->len = 0;
	s->nbuf = 0;
}

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

// One round of the compression function; the variables rotate by renaming
// instead of by moving values around.
#define ROUND(a, b, c, d, e, f, g, h, i)                                                  \
	do {                                                                              \
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + \
			      K[i] + w[(i) & 15];                                         \
		d += t1;                                                                  \
		h = t1 + (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));    \
	} while (0)

// compress hashes n whole 64-byte blocks from p into s->h. The message
// schedule is a 16-word window so that, with the rounds unrolled, it lives
// in locals (registers) rather than in memory.
static void compress(struct sha256 *s, const uint8_t *p, size_t n) {
	for (; n > 0; n--, p += 64) {
		uint32_t w[16];
		for (int i = 0; i < 16; i++)
			w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
			       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
		uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
		uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
#pragma clang loop unroll(full)
		for (int i = 0; i < 64; i += 8) {
			if (i >= 16) { // extend the schedule by the next 8 words
#pragma clang loop unroll(full)
				for (int j = i; j < i + 8; j++) {
					uint32_t x = w[(j - 15) & 15], y = w[(j - 2) & 15];
					w[j & 15] += (ROR(x, 7) ^ ROR(x, 18) ^ (x >> 3)) + w[(j - 7) & 15] +
						     (ROR(y, 17) ^ ROR(y, 19) ^ (y >> 10));
				}
			}
			ROUND(a, b, c, d, e, f, g, h, i + 0);
			ROUND(h, a, b, c, d, e, f, g, i + 1);
			ROUND(g, h, a, b, c, d, e, f, i + 2);
			ROUND(f, g, h, a, b, c, d, e, i + 3);
			ROUND(e, f, g, h, a, b, c, d, i + 4);
			ROUND(d, e, f, g, h, a, b, c, i + 5);
			ROUND(c, d, e, f, g, h, a, b, i + 6);
			ROUND(b, c, d, e, f, g, h, a, i + 7);
		}
		s->h[0] += a;
		s->h[1] += b;
		s->h[2] += c;
		s->h[3] += d;
		s->h[4] += e;
		s->h[5] += f;
		s->h[6] += g;
		s->h[7] += h;
	}
}

static void update(struct sha256 *s, const uint8_t *p, size_t n) {
	s->len += n;
	if (s->nbuf > 0) { // fill the partial block first
		size_t k = 64 - s->nbuf;
		if (k > n)
			k = n;
		memcpy(s->buf + s->nbuf, p, k);
		s->nbuf += k;
		p += k;
		n -= k;
		if (s->nbuf < 64)
			return;
		compress(s, s->buf, 1);
		s->nbuf = 0;
	}
	compress(s, p, n / 64);
	p += n / 64 * 64;
	n %= 64;
	memcpy(s->buf, p, n);
	s->nbuf = n;
}

// final pads the message and writes the digest as 64 hex digits and a NUL.
static void final(struct sha256 *s, char hex[65]) {
	uint64_t bits = s->len * 8;
	uint8_t pad[72] = {0x80};
	size_t npad = (s->nbuf < 56 ? 56 : 120) - s->nbuf;
	for (int i = 0; i < 8; i++)
		pad[npad + i] = (uint8_t)(bits >> (56 - 8 * i));
	update(s, pad, npad + 8);
	for (int i = 0; i < 32; i++) {
		uint8_t b = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
		hex[2 * i] = "0123456789abcdef"[b >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[b & 15];
	}
	hex[64] = 0;
}

static uint8_t block[BLOCK];

// sum hashes everything readable from fd.
static int sum(int fd, char hex[65]) {
	struct sha256 s;
	init(&s);
	for (;;) {
		ssize_t n = read(fd, block, sizeof block);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		update(&s, block, (size_t)n);
	}
	final(&s, hex);
	return 0;
}

int main(int argc, char **argv) {
	char hex[65];
	if (argc < 2) {
		if (sum(0, hex) < 0) {
			fprintf(stderr, "sha256: stdin: %s\n", strerror(errno));
			return 1;
		}
		printf("%s  -\n", hex);
		return 0;
	}
	int status = 0;
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		if (fd < 0 || sum(fd, hex) < 0) {
			fprintf(stderr, "sha256: %s: %s\n", argv[i], strerror(errno));
			status = 1;
		} else {
			printf("%s  %s\n", hex, argv[i]);
		}
		if (fd >= 0)
			close(fd);
	}
	return status;
}
