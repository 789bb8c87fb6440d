// wc: count lines, words and bytes, like wc(1) in the C locale.
//
//   wc            counts stdin and prints "LINES WORDS BYTES"
//   wc FILE...    prints "LINES WORDS BYTES FILE" per file, then a
//                 "total" line when more than one file was given
//
// A word is a maximal run of bytes that are not whitespace (space, \t, \n,
// \v, \f, \r), as POSIX says and GNU wc does since coreutils 9.2 (older GNU
// wc does not count non-printable bytes as word characters). Input is read in
// 64 KiB blocks with read(2); the inner loop is branch-free so that it runs
// close to native speed under a WebAssembly JIT.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

struct counts {
	unsigned long long lines, words, bytes;
};

static unsigned char buf[BLOCK];

// space[c] is 1 for the bytes isspace() accepts in the C locale.
static unsigned char space[256];

// count adds the counts of everything readable from fd to c.
static int count(int fd, struct counts *c) {
	unsigned long long lines = 0, words = 0, bytes = 0;
	unsigned in_space = 1; // the start of input counts as whitespace
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		bytes += (unsigned long long)n;
		for (ssize_t i = 0; i < n; i++) {
			unsigned ch = buf[i];
			unsigned s = space[ch];
			lines += ch == '\n';
			words += in_space & (s ^ 1); // a word starts after whitespace
			in_space = s;
		}
	}
	c->lines += lines;
	c->words += words;
	c->bytes += bytes;
	return 0;
}

// out is the output line being built; wc avoids stdio's printf, which would
// triple the size of the module.
static char out[4096];
static size_t outlen;

static void put(const char *s) {
	size_t n = strlen(s);
	if (n > sizeof out - outlen)
		n = sizeof out - outlen;
	memcpy(out + outlen, s, n);
	outlen += n;
}

static void putnum(unsigned long long v) {
	char digits[24];
	char *p = digits + sizeof digits;
	*--p = 0;
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	put(p);
}

// flush writes the line built so far to fd.
static void flush(int fd) {
	for (size_t off = 0; off < outlen;) {
		ssize_t n = write(fd, out + off, outlen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	outlen = 0;
}

// print writes "LINES WORDS BYTES[ NAME]\n" to stdout.
static void print(const struct counts *c, const char *name) {
	putnum(c->lines);
	put(" ");
	putnum(c->words);
	put(" ");
	putnum(c->bytes);
	if (name) {
		put(" ");
		put(name);
	}
	put("\n");
	flush(1);
}

// fail writes "wc: WHAT: ERROR\n" to stderr.
static void fail(const char *what) {
	put("wc: ");
	put(what);
	put(": ");
	put(strerror(errno));
	put("\n");
	flush(2);
}

int main(int argc, char **argv) {
	const char *ws = " \t\n\v\f\r";
	for (const char *p = ws; *p; p++)
		space[(unsigned char)*p] = 1;

	if (argc < 2) {
		struct counts c = {0};
		if (count(0, &c) < 0) {
			fail("stdin");
			return 1;
		}
		print(&c, NULL);
		return 0;
	}

	int status = 0;
	struct counts total = {0};
	for (int i = 1; i < argc; i++) {
		struct counts c = {0};
		int fd = open(argv[i], O_RDONLY);
		if (fd < 0 || count(fd, &c) < 0) {
			fail(argv[i]);
			status = 1;
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		print(&c, argv[i]);
		total.lines += c.lines;
		total.words += c.words;
		total.bytes += c.bytes;
	}
	if (argc > 2)
		print(&total, "total");
	return status;
}
