// upper: copy stdin to stdout with ASCII letters upper-cased.
//
// A stream transform: it works a 64 KiB block at a time, so memory stays
// constant whatever the size of the input. Bytes outside a-z (including
// UTF-8 sequences) pass through unchanged.
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

static unsigned char buf[BLOCK];

// writeall writes n bytes from p to fd, retrying short writes.
static int writeall(int fd, const unsigned char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void fail(const char *what) {
	const char *msg = strerror(errno);
	writeall(2, (const unsigned char *)"upper: ", 7);
	writeall(2, (const unsigned char *)what, strlen(what));
	writeall(2, (const unsigned char *)": ", 2);
	writeall(2, (const unsigned char *)msg, strlen(msg));
	writeall(2, (const unsigned char *)"\n", 1);
}

int main(void) {
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail("stdin");
			return 1;
		}
		if (n == 0)
			return 0;
		for (ssize_t i = 0; i < n; i++)
			buf[i] -= (unsigned char)((unsigned)(buf[i] - 'a') < 26u) << 5; // 'a'-'A' == 32
		if (writeall(1, buf, (size_t)n) < 0) {
			fail("stdout");
			return 1;
		}
	}
}
