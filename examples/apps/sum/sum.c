// sum: a reducer. It reads lines of "KEY<TAB>NUMBER" (or just "NUMBER") from
// stdin or from the files named in args, sums the numbers per key and prints
// "KEY<TAB>SUM" for each key in byte order of the key.
//
// When no line has a key it prints only the total; key-less lines may hold
// several space-separated numbers (what wc prints), summed column by column
// and printed on one line, so "wc | sum" adds up word counts. KEY is everything before
// the last tab, so a key may itself hold tabs (several columns). Blank lines
// are skipped and a trailing CR is ignored. A sum stays an exact integer
// while every number is an integer and it fits in 64 bits; otherwise it is a
// double printed with 15 significant digits. A line whose number does not
// parse is an error: the line is reported and sum exits 1.
#define _GNU_SOURCE // for memrchr
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

struct entry {
	char *key; // NULL marks an empty slot
	size_t keylen;
	int isfloat; // the sum has left the integers
	long long i;
	double f;
};

static struct entry *table; // open addressing, linear probing
static size_t cap = 1024, used;

static void *xalloc(size_t n) {
	void *p = calloc(1, n);
	if (!p) {
		fprintf(stderr, "sum: out of memory\n");
		exit(1);
	}
	return p;
}

static uint64_t hash(const char *s, size_t n) { // FNV-1a
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static struct entry *slot(struct entry *t, size_t c, const char *key, size_t n) {
	size_t i = hash(key, n) & (c - 1);
	while (t[i].key && !(t[i].keylen == n && memcmp(t[i].key, key, n) == 0))
		i = (i + 1) & (c - 1);
	return &t[i];
}

// lookup finds the entry for key, adding it if new.
static struct entry *lookup(const char *key, size_t n) {
	if (2 * (used + 1) > cap) { // keep the table at most half full
		size_t ncap = cap * 2;
		struct entry *nt = xalloc(ncap * sizeof *nt);
		for (size_t i = 0; i < cap; i++)
			if (table[i].key)
				*slot(nt, ncap, table[i].key, table[i].keylen) = table[i];
		free(table);
		table = nt;
		cap = ncap;
	}
	struct entry *e = slot(table, cap, key, n);
	if (!e->key) {
		e->key = xalloc(n + 1);
		memcpy(e->key, key, n);
		e->keylen = n;
		used++;
	}
	return e;
}

static int haskeys; // some line had a key

// Key-less lines may hold several numbers separated by spaces ("3 7 32",
// what wc prints): each column is summed on its own (column 0 under the
// empty key, the others here), and the total line then prints every column.
#define MAXCOLS 64
static struct entry cols[MAXCOLS];
static int ncols = 1;

// accumulate adds one parsed number to e, leaving the integers for
// floating point only when it must.
static void accumulate(struct entry *e, int isint, long long i, double f) {
	long long sum;
	if (!e->isfloat && isint && !__builtin_add_overflow(e->i, i, &sum)) {
		e->i = sum;
		return;
	}
	if (!e->isfloat) { // switch to floating point
		e->isfloat = 1;
		e->f = (double)e->i;
	}
	e->f += isint ? (double)i : f;
}

// number parses one number at *p, skipping spaces after it; it returns -1
// when there is none.
static int number(char **p, int *isint, long long *i, double *f) {
	char *num = *p, *end;
	errno = 0;
	*i = strtoll(num, &end, 10);
	*isint = end != num && errno == 0;
	*f = 0;
	if (!*isint || (*end && *end != ' ')) {
		*isint = 0;
		*f = strtod(num, &end);
		if (end == num || (*end && *end != ' '))
			return -1;
	}
	while (*end == ' ')
		end++;
	*p = end;
	return 0;
}

// add parses one line and adds its number(s) to its key's sum.
static int add(char *line, size_t n) {
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = 0;
	char *tab = memrchr(line, '\t', n);
	const char *key = "";
	char *num = line;
	size_t keylen = 0;
	if (tab) {
		key = line;
		keylen = (size_t)(tab - line);
		num = tab + 1;
		haskeys = 1;
	}
	while (*num == ' ')
		num++;
	if (!*num && !tab)
		return 0; // a blank line
	int isint;
	long long i;
	double f;
	if (number(&num, &isint, &i, &f) < 0)
		return -1;
	if (tab) {
		if (*num)
			return -1; // one number per keyed line
		accumulate(lookup(key, keylen), isint, i, f);
		return 0;
	}
	accumulate(lookup("", 0), isint, i, f); // column 0 is the empty key's sum
	for (int c = 1; *num; c++) {
		if (c == MAXCOLS || number(&num, &isint, &i, &f) < 0)
			return -1;
		accumulate(&cols[c], isint, i, f);
		if (c + 1 > ncols)
			ncols = c + 1;
	}
	return 0;
}

static char *buf;
static size_t bufcap = BLOCK;
static long long lineno;

// scan reads fd line by line; it returns -1 on a read error, -2 on a bad line.
static int scan(int fd) {
	size_t have = 0;
	for (int eof = 0; !eof;) {
		if (have + 1 >= bufcap) { // keep room for a NUL after a line
			buf = realloc(buf, bufcap *= 2);
			if (!buf) {
				fprintf(stderr, "sum: out of memory\n");
				exit(1);
			}
		}
		ssize_t n = read(fd, buf + have, bufcap - have - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		eof = n == 0;
		have += (size_t)n;
		char *p = buf, *end = buf + have;
		for (;;) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl && (!eof || p == end))
				break;
			if (!nl)
				nl = end; // a last line with no newline
			lineno++;
			if (add(p, (size_t)(nl - p)) < 0) {
				fprintf(stderr, "sum: line %lld: not a number: %s\n", lineno, p);
				return -2;
			}
			p = nl < end ? nl + 1 : end;
		}
		have = (size_t)(end - p);
		memmove(buf, p, have);
	}
	return 0;
}

static int bykey(const void *a, const void *b) {
	const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);
	return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static void printnum(const struct entry *e) {
	if (e->isfloat)
		printf("%.15g", e->f);
	else
		printf("%lld", e->i);
}

static void print(const struct entry *e) {
	printnum(e);
	putchar('\n');
}

int main(int argc, char **argv) {
	table = xalloc(cap * sizeof *table);
	buf = xalloc(bufcap);
	if (argc < 2) {
		int r = scan(0);
		if (r == -1)
			fprintf(stderr, "sum: stdin: %s\n", strerror(errno));
		if (r < 0)
			return 1;
	}
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		int r = fd < 0 ? -1 : scan(fd);
		if (r == -1)
			fprintf(stderr, "sum: %s: %s\n", argv[i], strerror(errno));
		if (r < 0)
			return 1;
		close(fd);
	}

	if (!haskeys) { // just the total (per column), 0 for empty input
		printnum(lookup("", 0));
		for (int c = 1; c < ncols; c++) {
			putchar(' ');
			printnum(&cols[c]);
		}
		putchar('\n');
		return fflush(stdout) ? 1 : 0;
	}
	struct entry **sorted = xalloc((used + 1) * sizeof *sorted);
	size_t n = 0;
	for (size_t i = 0; i < cap; i++)
		if (table[i].key)
			sorted[n++] = &table[i];
	qsort(sorted, n, sizeof *sorted, bykey);
	for (size_t i = 0; i < n; i++) {
		fwrite(sorted[i]->key, 1, sorted[i]->keylen, stdout);
		putchar('\t');
		print(sorted[i]);
	}
	return fflush(stdout) ? 1 : 0;
}
