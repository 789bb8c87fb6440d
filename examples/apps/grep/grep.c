// grep: print the lines that match a pattern.
//
//   grep [-v] [-i] [-c] [-F] [--] PATTERN [FILE...]
//
//   -v  select the lines that do NOT match
//   -i  ignore ASCII case
//   -c  print only a count of selected lines
//   -F  PATTERN is a fixed string (no special characters)
//
// Without -F the pattern is a small regular expression: `^` at the start and
// `$` at the end anchor it, `.` matches any byte, `x*` matches zero or more
// of the previous item, and `\` makes the next character literal. Everything
// else matches itself. With more than one FILE each output line is prefixed
// with "FILE:". Exit status: 0 if a line was selected, 1 if none, 2 on error.
#define _GNU_SOURCE // for memmem
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

// A compiled pattern item: a byte (or any byte), optionally repeated.
struct item {
	int any;  // matches any byte ('.')
	int star; // zero or more ('*')
	unsigned char c;
};

static struct item *items;
static int nitems;
static int bol, eol;       // anchored at the start / end of the line
static int fixed;          // pattern is a plain string: use memmem
static char *needle;       // the fixed string (lower-cased with -i)
static size_t needlelen;
static int invert, icase, countonly;

static unsigned char fold(unsigned char c) { return icase ? (unsigned char)tolower(c) : c; }

// compile turns the pattern into items; with -F every byte is literal.
static void compile(const char *p, int literal) {
	size_t n = strlen(p);
	items = calloc(n + 1, sizeof *items);
	needle = malloc(n + 1);
	if (!items || !needle) {
		fprintf(stderr, "grep: out of memory\n");
		exit(2);
	}
	fixed = 1;
	size_t i = 0;
	if (!literal && p[0] == '^') {
		bol = 1;
		i++;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		struct item it = {0};
		if (literal) {
			it.c = c;
		} else if (c == '$' && i == n - 1) {
			eol = 1;
			break;
		} else if (c == '\\' && i + 1 < n) {
			it.c = (unsigned char)p[++i];
		} else if (c == '*' && nitems > 0 && !items[nitems - 1].star) {
			items[nitems - 1].star = 1;
			fixed = 0;
			continue;
		} else if (c == '.') {
			it.any = 1;
			fixed = 0;
		} else {
			it.c = c; // includes a leading '*', which is literal
		}
		it.c = fold(it.c);
		needle[needlelen++] = (char)it.c;
		items[nitems++] = it;
	}
	if (bol || eol)
		fixed = 0;
}

static int eq(const struct item *it, unsigned char c) { return it->any || it->c == fold(c); }

// here reports whether items[k:] match at t, with the line ending at e.
static int here(int k, const unsigned char *t, const unsigned char *e) {
	for (; k < nitems; k++) {
		const struct item *it = &items[k];
		if (it->star) { // try every number of repeats, fewest first
			for (;;) {
				if (here(k + 1, t, e))
					return 1;
				if (t == e || !eq(it, *t))
					return 0;
				t++;
			}
		}
		if (t == e || !eq(it, *t))
			return 0;
		t++;
	}
	return !eol || t == e;
}

// lowered holds a lower-cased copy of the line for -F -i searches.
static unsigned char *lowered;
static size_t loweredcap;

static int match(const unsigned char *line, size_t len) {
	const unsigned char *e = line + len;
	if (fixed) {
		if (icase) {
			if (len > loweredcap) {
				loweredcap = len * 2;
				free(lowered);
				lowered = malloc(loweredcap);
				if (!lowered) {
					fprintf(stderr, "grep: out of memory\n");
					exit(2);
				}
			}
			for (size_t i = 0; i < len; i++)
				lowered[i] = (unsigned char)tolower(line[i]);
			line = lowered;
		}
		return memmem(line, len, needle, needlelen) != NULL;
	}
	if (bol)
		return here(0, line, e);
	for (const unsigned char *t = line; t <= e; t++)
		if (here(0, t, e))
			return 1;
	return 0;
}

static unsigned char *buf; // holds at least one whole line
static size_t bufcap = BLOCK;

// grep scans fd and reports how many lines were selected, or -1 on error.
// name prefixes each output line when not NULL.
static long long grep(int fd, const char *name) {
	long long selected = 0;
	size_t have = 0; // bytes in buf, none of them a newline yet looked at
	int eof = 0;
	while (!eof || have > 0) {
		if (!eof) {
			if (have == bufcap) { // a line longer than the buffer: grow
				unsigned char *nb = realloc(buf, bufcap * 2);
				if (!nb) {
					fprintf(stderr, "grep: out of memory\n");
					exit(2);
				}
				buf = nb;
				bufcap *= 2;
			}
			ssize_t n = read(fd, buf + have, bufcap - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -1;
			if (n == 0)
				eof = 1;
			have += (size_t)n;
		}
		// Handle each complete line; at EOF, also a last unterminated one.
		unsigned char *p = buf, *end = buf + have;
		for (;;) {
			unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl) {
				if (!eof || p == end)
					break;
				nl = end;
			}
			if (match(p, (size_t)(nl - p)) != invert) {
				selected++;
				if (!countonly) {
					if (name)
						printf("%s:", name);
					fwrite(p, 1, (size_t)(nl - p), stdout);
					putchar('\n');
				}
			}
			p = nl < end ? nl + 1 : end;
		}
		have = (size_t)(end - p);
		memmove(buf, p, have);
	}
	if (countonly) {
		if (name)
			printf("%s:", name);
		printf("%lld\n", selected);
	}
	return selected;
}

static void usage(void) {
	fprintf(stderr, "usage: grep [-v] [-i] [-c] [-F] PATTERN [FILE...]\n");
	exit(2);
}

int main(int argc, char **argv) {
	int literal = 0, i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (const char *f = argv[i] + 1; *f; f++) {
			switch (*f) {
			case 'v': invert = 1; break;
			case 'i': icase = 1; break;
			case 'c': countonly = 1; break;
			case 'F': literal = 1; break;
			default:
				fprintf(stderr, "grep: unknown option -%c\n", *f);
				usage();
			}
		}
	}
	if (i >= argc)
		usage();
	compile(argv[i++], literal);
	buf = malloc(bufcap);
	if (!buf) {
		fprintf(stderr, "grep: out of memory\n");
		return 2;
	}

	long long total = 0;
	int status = 0;
	if (i == argc) {
		total = grep(0, NULL);
		if (total < 0) {
			fprintf(stderr, "grep: stdin: %s\n", strerror(errno));
			return 2;
		}
	}
	int many = argc - i > 1;
	for (; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		long long n = fd < 0 ? -1 : grep(fd, many ? argv[i] : NULL);
		if (n < 0) {
			fprintf(stderr, "grep: %s: %s\n", argv[i], strerror(errno));
			status = 2;
		} else {
			total += n;
		}
		if (fd >= 0)
			close(fd);
	}
	if (fflush(stdout) != 0)
		return 2;
	return status ? status : total > 0 ? 0 : 1;
}
