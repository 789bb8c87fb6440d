// sortu: sort the lines of stdin (or of the files named in args) in byte
// order and print each distinct line once, like sort -u.
//
//   sortu [-w] [-c] [FILE...]
//
// -w splits the input into words (runs of bytes that are not space, tab,
// CR or LF) instead of lines. -c prints "ITEM<TAB>COUNT" for each distinct
// item, so `sortu -w -c` is a word frequency whose output the sum reducer
// adds up. Input is held in memory (bounded by the run's memory limit).
// Exit status: 0, or 1 when an input cannot be read or memory runs out.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

struct item {
	const char *p;
	size_t n;
};

static char *data;
static size_t len, cap;
static struct item *items;
static size_t nitems, capitems;
static int words, counts;

static void die(const char *msg, const char *arg) {
	fprintf(stderr, "sortu: %s%s\n", msg, arg ? arg : "");
	exit(1);
}

static void readall(int fd, const char *name) {
	for (;;) {
		if (cap - len < BLOCK) {
			cap = cap ? cap * 2 : 4 * BLOCK;
			data = realloc(data, cap);
			if (!data)
				die("out of memory", NULL);
		}
		ssize_t n = read(fd, data + len, BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("cannot read ", name);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > 0 && data[len - 1] != '\n') { // end every input with a line end
		if (len == cap && !(data = realloc(data, ++cap)))
			die("out of memory", NULL);
		data[len++] = '\n';
	}
}

static void add(const char *p, size_t n) {
	if (nitems == capitems) {
		capitems = capitems ? capitems * 2 : 1024;
		items = realloc(items, capitems * sizeof *items);
		if (!items)
			die("out of memory", NULL);
	}
	items[nitems].p = p;
	items[nitems].n = n;
	nitems++;
}

static int isspace_(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static void split(void) {
	size_t i = 0;
	while (i < len) {
		if (words) {
			while (i < len && isspace_(data[i]))
				i++;
			size_t s = i;
			while (i < len && !isspace_(data[i]))
				i++;
			if (i > s)
				add(data + s, i - s);
		} else {
			size_t s = i;
			while (i < len && data[i] != '\n')
				i++;
			add(data + s, i - s);
			i++; // the '\n'
		}
	}
}

static int cmp(const void *a, const void *b) {
	const struct item *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->p, y->p, n);
	if (c != 0)
		return c;
	return (x->n > y->n) - (x->n < y->n);
}

static char outbuf[BLOCK];
static size_t outlen;

static void flush(void) {
	size_t off = 0;
	while (off < outlen) {
		ssize_t w = write(1, outbuf + off, outlen - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			exit(1);
		off += (size_t)w;
	}
	outlen = 0;
}

static void out(const char *p, size_t n) {
	while (n > 0) {
		if (outlen == sizeof outbuf)
			flush();
		size_t k = sizeof outbuf - outlen;
		if (k > n)
			k = n;
		memcpy(outbuf + outlen, p, k);
		outlen += k;
		p += k;
		n -= k;
	}
}

int main(int argc, char **argv) {
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "-w") == 0)
			words = 1;
		else if (strcmp(argv[i], "-c") == 0)
			counts = 1;
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			die("unknown flag ", argv[i]);
	}
	if (i == argc)
		readall(0, "stdin");
	for (; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		if (fd < 0)
			die("cannot open ", argv[i]);
		readall(fd, argv[i]);
		close(fd);
	}
	split();
	qsort(items, nitems, sizeof *items, cmp);
	for (size_t j = 0; j < nitems;) {
		size_t k = j + 1;
		while (k < nitems && cmp(&items[j], &items[k]) == 0)
			k++;
		out(items[j].p, items[j].n);
		if (counts) {
			char num[32];
			int m = snprintf(num, sizeof num, "\t%zu", k - j);
			out(num, (size_t)m);
		}
		out("\n", 1);
		j = k;
	}
	flush();
	return 0;
}
