// csvselect: filter and project the rows of a CSV file (the S3 Select use
// case).
//
//   csvselect [-H|--header] [-d DELIM] [--where 'COL OP VALUE']...
//             [--select COL[,COL]...] [FILE]
//
// COL is a header name (with -H) or a 1-based column number. OP is one of
// = != < <= > >= or `contains`. The comparison is numeric when both sides are
// numbers and byte-wise otherwise; `contains` is a substring test. VALUE may
// be quoted with '...' or "..." to keep spaces. Several --where conditions
// must all hold. Without --select every column is written.
//
// Input is RFC 4180 CSV (quoted fields may hold the delimiter, doubled quotes
// and newlines; CRLF or LF line ends; blank lines are skipped) read from FILE
// or stdin. Output is CSV with LF line ends and the same delimiter, quoting
// only the fields that need it; with -H the (projected) header row comes
// first. A missing field reads as empty. Exit status: 0, or 2 on a usage
// error such as an unknown column.
#define _GNU_SOURCE // for memmem
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (64 * 1024)

static void die(const char *msg, const char *arg) {
	fprintf(stderr, "csvselect: %s%s\n", msg, arg ? arg : "");
	exit(2);
}

static void *xrealloc(void *p, size_t n) {
	p = realloc(p, n);
	if (!p)
		die("out of memory", NULL);
	return p;
}

// ---- Reading CSV ----

static int in = 0;              // input file descriptor
static unsigned char inbuf[BLOCK];
static size_t inpos, inlen;
static char delim = ',';

// next returns the next input byte or EOF.
static int next(void) {
	if (inpos == inlen) {
		ssize_t n;
		do
			n = read(in, inbuf, sizeof inbuf);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			die("read: ", strerror(errno));
		if (n == 0)
			return EOF;
		inpos = 0;
		inlen = (size_t)n;
	}
	return inbuf[inpos++];
}

// A record: its fields are NUL-terminated strings in data, at off[i] with
// length len[i] (a field may itself hold NUL bytes).
struct record {
	char *data;
	size_t n, cap;
	size_t *off, *len;
	int nf, fcap;
};

static void put(struct record *r, int c) {
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->data = xrealloc(r->data, r->cap);
	}
	r->data[r->n++] = (char)c;
}

static void startfield(struct record *r) {
	if (r->nf == r->fcap) {
		r->fcap = r->fcap ? 2 * r->fcap : 16;
		r->off = xrealloc(r->off, r->fcap * sizeof *r->off);
		r->len = xrealloc(r->len, r->fcap * sizeof *r->len);
	}
	r->off[r->nf++] = r->n;
}

static void endfield(struct record *r) {
	int i = r->nf - 1;
	r->len[i] = r->n - r->off[i];
	put(r, 0);
}

// readrecord reads the next non-blank record; it returns 0 at end of input.
static int readrecord(struct record *r) {
	for (;;) {
		r->n = 0;
		r->nf = 0;
		int c = next();
		if (c == EOF)
			return 0;
		int quoted = 0;
		for (;;) { // one field per iteration; c is its first byte
			startfield(r);
			quoted = c == '"';
			if (quoted) {
				for (;;) {
					c = next();
					if (c == EOF)
						break; // unterminated quote: take what we have
					if (c == '"' && (c = next()) != '"')
						break; // the closing quote
					put(r, c);
				}
				// Anything between the closing quote and the delimiter
				// is kept, except a CR.
				while (c != EOF && c != delim && c != '\n') {
					if (c != '\r')
						put(r, c);
					c = next();
				}
			} else {
				while (c != EOF && c != delim && c != '\n') {
					put(r, c);
					c = next();
				}
				if (c != delim && r->n > r->off[r->nf - 1] && r->data[r->n - 1] == '\r')
					r->n--; // CRLF line end
			}
			endfield(r);
			if (c != delim)
				break;
			c = next();
		}
		if (r->nf == 1 && r->len[0] == 0 && !quoted) {
			if (c == EOF)
				return 0;
			continue; // a blank line
		}
		return 1;
	}
}

// ---- Writing CSV ----

static void writefield(const char *p, size_t n) {
	int quote = 0;
	for (size_t i = 0; i < n && !quote; i++)
		quote = p[i] == delim || p[i] == '"' || p[i] == '\n' || p[i] == '\r';
	if (!quote) {
		fwrite(p, 1, n, stdout);
		return;
	}
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"')
			putchar('"');
		putchar(p[i]);
	}
	putchar('"');
}

static int *sel, nsel; // projected columns (0-based); nsel == 0: all

static void writerecord(const struct record *r) {
	int n = nsel ? nsel : r->nf;
	for (int i = 0; i < n; i++) {
		int col = nsel ? sel[i] : i;
		if (i > 0)
			putchar(delim);
		if (col < r->nf)
			writefield(r->data + r->off[col], r->len[col]);
	}
	putchar('\n');
}

// ---- Conditions ----

enum op { EQ, NE, LT, LE, GT, GE, CONTAINS };

struct cond {
	char *col; // as written; resolved into idx
	int idx;
	enum op op;
	char *val;
	size_t vlen;
	int isnum;
	double num;
};

static struct cond *conds;
static int nconds;

// number reports whether p[0:n] is a decimal number (optionally signed, with
// a fraction and an exponent, surrounded by spaces) and stores its value.
static int number(const char *p, size_t n, double *v) {
	size_t i = 0, digits = 0;
	while (i < n && p[i] == ' ')
		i++;
	size_t start = i;
	if (i < n && (p[i] == '+' || p[i] == '-'))
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		digits++;
	if (i < n && p[i] == '.')
		for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return 0;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i == n || p[i] < '0' || p[i] > '9')
			return 0;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
	}
	while (i < n && p[i] == ' ')
		i++;
	if (i != n)
		return 0;
	*v = strtod(p + start, NULL); // p is NUL-terminated after the number
	return 1;
}

static char *trim(char *s, char *e) {
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = 0;
	return s;
}

// parsecond parses "COL OP VALUE".
static void parsecond(char *s) {
	static const char *ops[] = {[EQ] = "=", [NE] = "!=", [LT] = "<", [LE] = "<=",
				    [GT] = ">", [GE] = ">=", [CONTAINS] = " contains "};
	struct cond c = {0};
	char *o = s + strcspn(s, "=!<>");
	char *w = strstr(s, " contains ");
	size_t oplen;
	if (w && w < o) {
		c.op = CONTAINS;
		o = w;
	} else if (*o) {
		int eq = o[1] == '=';
		switch (o[0]) {
		case '=': c.op = EQ; break;
		case '<': c.op = eq ? LE : LT; break;
		case '>': c.op = eq ? GE : GT; break;
		default: // '!'
			if (!eq)
				die("bad operator in --where ", s);
			c.op = NE;
		}
	} else {
		die("no operator (= != < <= > >= contains) in --where ", s);
	}
	oplen = strlen(ops[c.op]);
	if (c.op == EQ && o[1] == '=')
		oplen = 2; // accept ==
	char *val = o + oplen, *end = val + strlen(val);
	c.col = trim(s, o);
	val = trim(val, end);
	size_t n = strlen(val);
	if (n >= 2 && (val[0] == '\'' || val[0] == '"') && val[n - 1] == val[0]) {
		val[n - 1] = 0; // a quoted value keeps its spaces
		val++;
	}
	if (!*c.col)
		die("no column in --where ", s);
	c.val = val;
	c.vlen = strlen(val);
	c.isnum = number(c.val, c.vlen, &c.num);
	conds = xrealloc(conds, (nconds + 1) * sizeof *conds);
	conds[nconds++] = c;
}

static int holds(const struct cond *c, const struct record *r) {
	const char *f = "";
	size_t n = 0;
	if (c->idx < r->nf) {
		f = r->data + r->off[c->idx];
		n = r->len[c->idx];
	}
	if (c->op == CONTAINS)
		return memmem(f, n, c->val, c->vlen) != NULL;
	int cmp;
	double v;
	if (c->isnum && number(f, n, &v)) {
		cmp = (v > c->num) - (v < c->num);
	} else {
		size_t m = n < c->vlen ? n : c->vlen;
		cmp = memcmp(f, c->val, m);
		if (cmp == 0)
			cmp = (n > c->vlen) - (n < c->vlen);
	}
	switch (c->op) {
	case EQ: return cmp == 0;
	case NE: return cmp != 0;
	case LT: return cmp < 0;
	case LE: return cmp <= 0;
	case GT: return cmp > 0;
	case GE: return cmp >= 0;
	default: return 0;
	}
}

// ---- Columns ----

// column resolves a column name or number against the header (may be NULL).
static int column(const char *name, const struct record *hdr) {
	size_t n = strlen(name);
	if (n > 0 && strspn(name, "0123456789") == n) {
		long i = strtol(name, NULL, 10);
		if (i < 1 || i > 1000000)
			die("column numbers start at 1: ", name);
		return (int)i - 1;
	}
	if (hdr)
		for (int i = 0; i < hdr->nf; i++)
			if (hdr->len[i] == n && memcmp(hdr->data + hdr->off[i], name, n) == 0)
				return i;
	die(hdr ? "no such column in the header: " : "column names need -H: ", name);
	return -1;
}

static void usage(void) {
	fprintf(stderr, "usage: csvselect [-H|--header] [-d DELIM] [--where 'COL OP VALUE']... "
			"[--select COL,...] [FILE]\n");
	exit(2);
}

int main(int argc, char **argv) {
	int header = 0;
	char *selspec = NULL, *file = NULL;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *v = NULL;
		if (strcmp(a, "-H") == 0 || strcmp(a, "--header") == 0) {
			header = 1;
			continue;
		}
		if (strncmp(a, "--where=", 8) == 0 || strncmp(a, "--select=", 9) == 0 ||
		    strncmp(a, "--delimiter=", 12) == 0) {
			v = strchr(a, '=') + 1;
			*strchr(a, '=') = 0;
		} else if (strcmp(a, "--where") == 0 || strcmp(a, "--select") == 0 ||
			   strcmp(a, "-d") == 0 || strcmp(a, "--delimiter") == 0) {
			if (++i == argc)
				usage();
			v = argv[i];
		} else if (a[0] == '-' && a[1]) {
			usage();
		} else if (!file) {
			file = a;
			continue;
		} else {
			usage();
		}
		if (strcmp(a, "--where") == 0) {
			parsecond(v);
		} else if (strcmp(a, "--select") == 0) {
			selspec = v;
		} else { // -d
			if (strcmp(v, "\\t") == 0 || strcmp(v, "tab") == 0)
				v = "\t";
			if (strlen(v) != 1 || *v == '"' || *v == '\n' || *v == '\r')
				die("the delimiter must be one byte other than a quote or line end: ", v);
			delim = *v;
		}
	}
	if (file && (in = open(file, O_RDONLY)) < 0) {
		fprintf(stderr, "csvselect: %s: %s\n", file, strerror(errno));
		return 2;
	}
	static char outbuf[BLOCK];
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

	struct record hdr = {0}, rec = {0};
	if (header && !readrecord(&hdr))
		return 0; // empty input
	for (int i = 0; i < nconds; i++)
		conds[i].idx = column(conds[i].col, header ? &hdr : NULL);
	if (selspec) {
		for (char *s = selspec;;) {
			char *comma = strchr(s, ',');
			char *e = comma ? comma : s + strlen(s);
			char *name = trim(s, e);
			sel = xrealloc(sel, (nsel + 1) * sizeof *sel);
			sel[nsel++] = column(name, header ? &hdr : NULL);
			if (!comma)
				break;
			s = comma + 1;
		}
	}
	if (header)
		writerecord(&hdr);
	while (readrecord(&rec)) {
		int ok = 1;
		for (int i = 0; i < nconds && ok; i++)
			ok = holds(&conds[i], &rec);
		if (ok)
			writerecord(&rec);
	}
	if (fflush(stdout) != 0)
		die("write: ", strerror(errno));
	return 0;
}
